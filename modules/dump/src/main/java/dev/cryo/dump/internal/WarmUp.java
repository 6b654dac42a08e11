package dev.cryo.dump.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpListener;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.parasite.Cancellation;

/**
 * A rehearsal on a decoy before the real dump freezes its tree ({@link DumpOptions#warmUp()}). In a fresh JVM
 * the first dump runs its code cold: classes loaded and linked, native call stubs made, the interpreter
 * running it, all while the tree is frozen (a 2-process tree stayed frozen about ten times longer than in a
 * warm JVM). Dumping a decoy that cryo starts for the purpose, the same way (dump, or pre-dump in the same
 * mode), does that work before the tree is touched. The decoy is a small tree, a shell and two {@code sleep}s
 * joined by a pipe, so that the rehearsal goes through children and pipes too (a lone {@code sleep} saved
 * less: 3.4x against 5.0x shorter frozen time). Once per kind of step per JVM; a rehearsal that cannot run
 * (no sh or sleep) is skipped, since it only saves time.
 */
final class WarmUp {
    private static final Set<String> DONE = new HashSet<>();

    private WarmUp() {}

    /**
     * Rehearses a dump ({@code preDump} null) or a pre-dump in that mode, unless done already; returns the time it
     * took. Tells {@code listener} which processes and directory the decoy is, so that they can be seen gone.
     */
    static synchronized long once(PreDumpMode preDump, DumpListener listener, Cancellation cancel) {
        String kind = preDump == null ? "dump" : "pre-dump " + preDump;
        if (!DONE.add(kind)) {
            return 0;
        }
        long start = System.nanoTime();
        Path images = null;
        ProcessHandle decoy = null;
        try {
            decoy = startDecoy();
            images = Files.createTempDirectory(scratch(), "cryo-warm-up-");
            listener.log("warm-up: decoy pid " + decoy.pid() + " with "
                    + decoy.descendants().map(p -> Long.toString(p.pid())).collect(Collectors.joining(" ")) + ", images in " + images);
            DumpOptions options = DumpOptions.of(Math.toIntExact(decoy.pid()), images).withPreDumpMode(preDump);
            if (preDump == null) {
                DumpRun.run(options, cancel);
            } else {
                PreDumpRun.run(options, cancel);
            }
        } catch (IOException | DumpException | RuntimeException e) {
            cancel.check(); // a cancellation ends the real dump too; any other failure only costs the warm-up
        } finally {
            if (decoy != null) {
                kill(decoy); // a dump has, a pre-dump leaves it running
            }
            delete(images);
        }
        return System.nanoTime() - start;
    }

    /**
     * {@code sh -c 'sleep 60 | sleep 60'} in a session of its own, started by a shell that exits at once: so
     * it is no child of this JVM, whose process reaper would take its ptrace stops, and init reaps it once
     * the dump kills it. Returned once both sleeps run.
     */
    private static ProcessHandle startDecoy() throws IOException {
        Process shell = new ProcessBuilder("sh", "-c", "setsid sh -c 'sleep 60 | sleep 60' </dev/null >/dev/null 2>&1 & echo $!")
                .redirectErrorStream(true).start();
        String pid = new String(shell.getInputStream().readAllBytes()).trim();
        try {
            shell.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the warm-up's decoy", e);
        }
        if (!pid.matches("[0-9]+")) {
            throw new IOException("no decoy for the warm-up: " + pid);
        }
        ProcessHandle decoy = ProcessHandle.of(Long.parseLong(pid))
                .orElseThrow(() -> new IOException("the warm-up's decoy " + pid + " exited"));
        Path children = Path.of("/proc", pid, "task", pid, "children");
        for (int i = 0; i < 2000 && decoy.isAlive() && !sleepers(Files.readString(children)); i++) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                kill(decoy);
                throw new IOException("interrupted while starting the warm-up's decoy", e);
            }
        }
        return decoy;
    }

    /** The decoy and what it started (its children, once it is killed, would go to init and run on). */
    private static void kill(ProcessHandle decoy) {
        decoy.descendants().forEach(ProcessHandle::destroyForcibly);
        decoy.destroyForcibly();
    }

    /** Whether {@code children} (of /proc/PID/task/PID/children) are the decoy's two sleeps. */
    private static boolean sleepers(String children) {
        String[] kids = children.trim().split(" ");
        if (kids.length != 2) {
            return false;
        }
        for (String k : kids) {
            try {
                if (!Files.readString(Path.of("/proc", k, "comm")).trim().equals("sleep")) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    /** tmpfs when there is one: the decoy's images never touch a disk. */
    private static Path scratch() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    private static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            // a leftover temporary directory of a decoy's images: nothing of the user's
        }
    }
}
