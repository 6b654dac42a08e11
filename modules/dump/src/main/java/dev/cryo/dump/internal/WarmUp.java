package dev.cryo.dump.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
 *
 * <p>A fresh JVM that knows it will dump starts the rehearsal first thing ({@link #early}, from the command
 * line's main), on a thread of its own: it then runs on the second core while the main thread parses the command
 * line and checks the request, and the step waits only for what is left of it (the {@code warm-up time} of the
 * stats). Measured side by side: docs/benchmarks.md, "Small work".
 *
 * <p>Nothing of it outlives cryo, even a SIGKILL of cryo: the decoy is started by a guard, a shell that
 * waits on a pipe from this JVM and, when that pipe closes (cryo is done, or dead: the kernel closes its
 * end), kills the decoy's session and removes the decoy's images.
 */
public final class WarmUp {
    private static final Set<String> DONE = new HashSet<>();
    /** Kinds rehearsed by {@link #early} whose step has not come yet. */
    private static final Set<String> EARLY = new HashSet<>();

    private WarmUp() {}

    /** See {@link dev.cryo.dump.Dumper#warmUpEarly}: {@link #once} on a daemon thread, which holds the lock until done. */
    public static void early(PreDumpMode preDump, boolean leaveRunning, DumpListener listener) {
        CountDownLatch holding = new CountDownLatch(1);
        Thread.ofPlatform().daemon().name("cryo-warm-up").start(() -> {
            synchronized (WarmUp.class) {
                holding.countDown();
                if (once(preDump, leaveRunning, listener, new Cancellation()) > 0) {
                    EARLY.add(kind(preDump, leaveRunning));
                }
            }
        });
        try {
            holding.await(); // the step that follows finds the lock taken, whatever the threads' order
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String kind(PreDumpMode preDump, boolean leaveRunning) {
        return preDump == null ? (leaveRunning ? "dump --leave-running" : "dump") : "pre-dump " + preDump;
    }

    /**
     * Rehearses a dump ({@code preDump} null; with {@code leaveRunning} as the real one, whose pages then take
     * the same way, see {@link HeldPages}) or a pre-dump in that mode, unless done already; returns the time it
     * took, or for the first step after an {@link #early} one, the time it waited for that one to end (0 if done
     * already). Tells {@code listener} which processes and directory the decoy is, so that they can be seen gone.
     */
    static long once(PreDumpMode preDump, boolean leaveRunning, DumpListener listener, Cancellation cancel) {
        long start = System.nanoTime();
        synchronized (WarmUp.class) {
            String kind = kind(preDump, leaveRunning);
            if (!DONE.add(kind)) {
                return EARLY.remove(kind) ? System.nanoTime() - start : 0;
            }
            rehearse(preDump, leaveRunning, listener, cancel);
            return System.nanoTime() - start;
        }
    }

    private static void rehearse(PreDumpMode preDump, boolean leaveRunning, DumpListener listener, Cancellation cancel) {
        Path images = null;
        Process guard = null;
        ProcessHandle decoy = null;
        try {
            guard = startGuard();
            String[] said = said(guard);
            images = Path.of(said[1]);
            decoy = decoy(said[0]);
            listener.log("warm-up: decoy pid " + decoy.pid() + " with "
                    + decoy.descendants().map(p -> Long.toString(p.pid())).collect(Collectors.joining(" ")) + ", images in " + images);
            DumpOptions options = DumpOptions.of(Math.toIntExact(decoy.pid()), images).withPreDumpMode(preDump)
                    .withLeaveRunning(preDump == null && leaveRunning)
                    // the mappings read ahead and checked frozen: the check's code (maps, VmLck) loaded too, which a
                    // dump with mappingsAhead runs frozen; smaps is read by the same code either way
                    .withMappingsAhead(true);
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
            if (guard != null) {
                dismiss(guard);
            }
        }
    }

    /**
     * The guard: {@code sh} makes the directory for the decoy's images (in {@code $1}, named after cryo's
     * pid), starts the decoy,
     * {@code sh -c 'sleep 60 | sleep 60'} in a session of its own (so it is no child of this JVM, whose
     * process reaper would take its ptrace stops), says the decoy's pid and the directory, then reads its
     * stdin, a pipe whose other end only this JVM holds. End of file comes when the JVM closes it
     * ({@link #dismiss}) or dies, however it dies: the guard then kills the decoy's session (the sleeps
     * too) and removes the directory.
     */
    private static Process startGuard() throws IOException {
        // the directory's name holds cryo's pid ($PPID): whose it is shows, should anything be left
        String script = "dir=$(mktemp -d \"$1/cryo-warm-up-$PPID-XXXXXXXXXX\") || exit 1;"
                + " setsid sh -c 'sleep 60 | sleep 60' </dev/null >/dev/null 2>&1 & echo \"$! $dir\"; read line;"
                + " kill -9 -$! 2>/dev/null; rm -rf -- \"$dir\"";
        return new ProcessBuilder("sh", "-c", script, "cryo-warm-up-guard", scratch().toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    /** What the guard says: the decoy's pid and the directory for its images. */
    private static String[] said(Process guard) throws IOException {
        String line = new BufferedReader(new InputStreamReader(guard.getInputStream(), StandardCharsets.UTF_8)).readLine();
        String[] said = line == null ? new String[0] : line.strip().split(" ", 2);
        if (said.length != 2 || !said[0].matches("[0-9]+") || !said[1].startsWith("/")) {
            throw new IOException("no decoy for the warm-up: " + line);
        }
        return said;
    }

    /** Closes the guard's pipe and waits a little for it to exit, having cleaned up. */
    private static void dismiss(Process guard) {
        try {
            guard.getOutputStream().close();
            if (!guard.waitFor(5, TimeUnit.SECONDS)) {
                guard.destroyForcibly();
            }
        } catch (IOException e) {
            guard.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            guard.destroyForcibly();
        }
    }

    /** The decoy the guard started, returned once both its sleeps run. */
    private static ProcessHandle decoy(String decoyPid) throws IOException {
        ProcessHandle decoy = ProcessHandle.of(Long.parseLong(decoyPid))
                .orElseThrow(() -> new IOException("the warm-up's decoy " + decoyPid + " exited"));
        Path children = Path.of("/proc", decoyPid, "task", decoyPid, "children");
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
