package dev.cryo.dump.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.parasite.Cancellation;

/**
 * A rehearsal on a decoy before the real dump freezes its tree ({@link DumpOptions#warmUp()}). In a fresh JVM
 * the first dump runs its code cold: classes loaded and linked, native call stubs made, the interpreter
 * running it, all while the tree is frozen (a 2-process tree stayed frozen about ten times longer than in a
 * warm JVM). Dumping a {@code sleep} that cryo starts for the purpose, the same way (dump, or pre-dump in the
 * same mode), does that work before the tree is touched. Once per kind of step per JVM; a rehearsal that
 * cannot run (no sh or sleep) is skipped, since it only saves time.
 */
final class WarmUp {
    private static final Set<String> DONE = new HashSet<>();

    private WarmUp() {}

    /** Rehearses a dump ({@code preDump} null) or a pre-dump in that mode, unless done already; returns the time it took. */
    static synchronized long once(PreDumpMode preDump, Cancellation cancel) {
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
                decoy.destroyForcibly();
            }
            delete(images);
        }
        return System.nanoTime() - start;
    }

    /**
     * A {@code sleep} in a session of its own, started by a shell that exits at once: so it is no child of
     * this JVM, whose process reaper would take its ptrace stops, and init reaps it once the dump kills it.
     */
    private static ProcessHandle startDecoy() throws IOException {
        Process shell = new ProcessBuilder("sh", "-c", "setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!")
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
        Path comm = Path.of("/proc", pid, "comm");
        for (int i = 0; i < 2000 && decoy.isAlive() && !Files.readString(comm).trim().equals("sleep"); i++) {
            try {
                Thread.sleep(1); // setsid runs sleep in the same process, once the shell's fork has exec'd it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                decoy.destroyForcibly();
                throw new IOException("interrupted while starting the warm-up's decoy", e);
            }
        }
        return decoy;
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
