package dev.cryo.syscalls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The unified (v2) cgroup hierarchy, wherever it is mounted (/sys/fs/cgroup on a pure v2 host,
 * /sys/fs/cgroup/unified on a hybrid one): which cgroup a task is in, who else is in it, and its freezer
 * ({@code cgroup.freeze} asks, the {@code frozen} line of {@code cgroup.events} tells when done).
 */
public final class Cgroup2 {
    private Cgroup2() {}

    /** Where cgroup2 is mounted, from /proc/self/mountinfo; empty if it is not. */
    public static Optional<Path> mountPoint() {
        return Mounts.firstOfType("cgroup2").map(Path::of);
    }

    /**
     * The directory of {@code pid}'s cgroup2 cgroup under {@code mount}, from the "0::" line of
     * /proc/PID/cgroup; empty when the task has none or is in the root cgroup, which cannot be frozen.
     */
    public static Optional<Path> cgroupOf(int pid, Path mount) {
        for (String line : Proc.read(pid, "cgroup").split("\n")) {
            if (line.startsWith("0::/")) {
                String rel = line.substring(4).trim();
                if (rel.isEmpty() || rel.endsWith(" (deleted)")) {
                    return Optional.empty();
                }
                Path dir = mount.resolve(rel).normalize();
                return dir.startsWith(mount) && Files.isDirectory(dir) ? Optional.of(dir) : Optional.empty();
            }
        }
        return Optional.empty();
    }

    /** Every process in {@code cgroup} and in the cgroups below it. */
    public static List<Integer> processes(Path cgroup) {
        List<Integer> pids = new ArrayList<>();
        try (Stream<Path> dirs = Files.walk(cgroup)) {
            for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                List<String> lines;
                try {
                    lines = Files.readAllLines(dir.resolve("cgroup.procs"));
                } catch (NoSuchFileException e) {
                    continue; // removed since the walk saw it
                }
                for (String line : lines) {
                    if (!line.isBlank()) {
                        pids.add(Integer.parseInt(line.trim()));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the processes of cgroup " + cgroup, e);
        }
        return pids;
    }

    /** Whether a freeze of {@code cgroup} is asked for (by cryo or anyone else): its {@code cgroup.freeze}. */
    public static boolean freezeAsked(Path cgroup) {
        return read(cgroup.resolve("cgroup.freeze")).trim().equals("1");
    }

    /**
     * The cgroup whose freeze holds the tasks of {@code cgroup}: itself or the nearest cgroup above it whose
     * {@code cgroup.freeze} is 1 (a freeze applies to everything below); empty if none is frozen.
     */
    public static Optional<Path> frozenBy(Path cgroup, Path mount) {
        for (Path dir = cgroup; dir != null && dir.startsWith(mount) && !dir.equals(mount); dir = dir.getParent()) {
            if (freezeAsked(dir)) {
                return Optional.of(dir);
            }
        }
        return Optional.empty();
    }

    /** Asks the kernel to freeze or thaw {@code cgroup} and those below it; {@link #frozen} says when it has. */
    public static void askFreeze(Path cgroup, boolean freeze) {
        Path file = cgroup.resolve("cgroup.freeze");
        try {
            Files.writeString(file, freeze ? "1" : "0");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Whether every task in {@code cgroup} is frozen: the {@code frozen} line of its {@code cgroup.events}. */
    public static boolean frozen(Path cgroup) {
        return read(cgroup.resolve("cgroup.events")).lines().anyMatch(l -> l.equals("frozen 1"));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
