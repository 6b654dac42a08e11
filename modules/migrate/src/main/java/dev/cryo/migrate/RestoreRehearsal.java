package dev.cryo.migrate;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.lazypages.Handoff;
import dev.cryo.lazypages.LazyPages;
import dev.cryo.parasite.Cancellation;
import dev.cryo.restore.RestoreException;
import dev.cryo.restore.RestoreListener;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.LazyHandoff;
import dev.cryo.restore.Restorer;
import dev.cryo.syscalls.Fd;

/**
 * The destination's restore rehearsed while pre-copy runs, so that the real one, which the tree waits for frozen on
 * the source, does not run cold (a fresh JVM's first restore takes several times its later ones): a decoy
 * ({@code sleep}, not a child of this JVM, whose process reaper would take its ptrace stops; a guard shell kills it
 * when this JVM's pipe to it closes, even if this JVM is killed) dumped, then restored into a pid namespace of its
 * own up to its release, where the restore is told to stop ({@code RestoreListener.releasing}): the copy is killed
 * unreleased, never having run, and the restore's keeper kills it just the same if this JVM is killed meanwhile.
 * Its images are removed. Both decoys carry {@value #MARK}=PID (this JVM's) in their environment, which says whose
 * they are. A rehearsal that fails only costs time. For post-copy after pre-copy the decoy's images are given the many
 * runs that pre-copy leaves in a final dump ({@link PreCopyShape}), and the daemon places the parent snapshot's pages as
 * post-copy's does, so that the code that walks them is compiled before the real restore, not during it. Post-copy
 * alone has no chain and few runs: its rehearsal, which has only the final dump's warm-up to run in, is left short.
 */
final class RestoreRehearsal {
    private RestoreRehearsal() {}

    /** The environment variable that names the JVM whose rehearsal a decoy is. */
    static final String MARK = "CRYO_REHEARSAL_OF";

    /**
     * Rehearses in {@code dir} (a directory of its own is made and removed there), lazily ({@code lazy}: for post-copy)
     * or not, on a chain of many runs as pre-copy leaves ({@code chain}: with post-copy only); returns the time it took.
     */
    static long run(Path dir, boolean lazy, boolean chain, Consumer<String> log) {
        long start = System.nanoTime();
        Path images = dir.resolve("rehearsal-" + ProcessHandle.current().pid());
        Path parent = dir.resolve("rehearsal-" + ProcessHandle.current().pid() + "-parent");
        long decoy = -1;
        Process guard = null;
        try {
            Files.createDirectories(images);
            // the guard, a shell, waits on a pipe from this JVM and kills the decoy when it closes (done, or this JVM dead)
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", "setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!; read x; kill -9 $! 2>/dev/null")
                    .redirectErrorStream(true);
            pb.environment().put(MARK, Long.toString(ProcessHandle.current().pid()));
            guard = pb.start();
            BufferedReader r = new BufferedReader(new InputStreamReader(guard.getInputStream(), StandardCharsets.US_ASCII));
            decoy = Long.parseLong(r.readLine().strip());
            awaitOwnSession(decoy);
            Cancellation cancel = new Cancellation();
            Dumper.dump(DumpOptions.of(Math.toIntExact(decoy), images), cancel);
            RestoreOptions ro = RestoreOptions.of(images).withDetached(true).withPidns(true).withOrphan(true)
                    .withListener(new RestoreListener() {
                        @Override
                        public void releasing() {
                            throw new Rehearsed();
                        }
                    });
            if (lazy) {
                if (chain) {
                    PreCopyShape.give(images, parent, Math.toIntExact(decoy));
                }
                rehearseLazily(ro, images, dir.resolve("rehearsal.sock"), cancel);
            } else {
                rehearse(ro, cancel);
            }
            log.accept(String.format("restore rehearsed on a decoy in %.1f ms", (System.nanoTime() - start) / 1e6));
        } catch (Exception e) {
            log.accept("the restore's rehearsal failed (it only costs time): " + e.getMessage());
        } finally {
            if (guard != null) {
                try {
                    guard.getOutputStream().close(); // the guard kills the decoy, if the dump has not
                    guard.waitFor();
                } catch (IOException | InterruptedException e) {
                    guard.destroyForcibly();
                }
            }
            for (Path made : List.of(images, parent)) {
                try (Stream<Path> all = Files.exists(made) ? Files.walk(made) : Stream.empty()) {
                    for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException e) {
                    log.accept("cannot remove " + made + ": " + e.getMessage());
                }
            }
        }
        return System.nanoTime() - start;
    }

    /** The restore up to its release; a restore that fails otherwise throws. */
    private static void rehearse(RestoreOptions ro, Cancellation cancel) throws RestoreException {
        try {
            Restorer.restore(ro, cancel);
            throw new IllegalStateException("the rehearsal released its decoy's copy, which it was to stop before");
        } catch (RestoreException e) {
            Throwable c = e;
            while (c != null && !(c instanceof Rehearsed)) {
                c = c.getCause();
            }
            if (c == null) {
                throw e;
            }
        }
    }

    /**
     * The same, lazily: a lazy-pages daemon on the decoy's images (no source), the restore handing it the decoy's
     * userfaultfd, as post-copy's restore does; the daemon ends when the rehearsal's restore goes away.
     */
    private static void rehearseLazily(RestoreOptions ro, Path images, Path socket, Cancellation cancel) throws Exception {
        try (LazyPages daemon = LazyPages.listen(new LazyPages.Options(images, socket, null, LazyPages.DEFAULT_TIMEOUT, null).withParentPages())) {
            Thread serving = Thread.ofPlatform().name("migrate-rehearsal-lazy-pages").start(() -> {
                try {
                    daemon.serve(cancel::check);
                } catch (RuntimeException expected) {
                    // the restore goes away before its tree runs: that is the rehearsal's end
                }
            });
            try (Handoff h = Handoff.connect(socket)) {
                rehearse(ro.withLazyPages(new LazyHandoff() {
                    @Override
                    public void hand(int pid, Fd uffd, Fd pidfd) {
                        h.hand(pid, uffd, pidfd);
                    }

                    @Override
                    public void released() {
                        h.released();
                    }

                    @Override
                    public boolean placesParentPages() {
                        return true; // as post-copy's daemon (PostCopyDaemon): the pre-copied pages are its to place
                    }
                }), cancel);
            } finally {
                serving.join();
            }
        }
    }

    /** The rehearsal's end, where the restore would release the decoy's copy. */
    private static final class Rehearsed extends RuntimeException {
        Rehearsed() {
            super("rehearsed: the decoy's copy is not released", null, false, false);
        }
    }

    /**
     * Waits (at most 2 s) until {@code pid} is {@code sleep} in a session of its own: the shell says the pid as
     * soon as it has forked, before setsid(1) has made the session and exec'd, and a decoy still in the guard's
     * session would be refused as a shell job. No event says it; /proc/PID/stat is polled.
     */
    private static void awaitOwnSession(long pid) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 2_000_000_000L;
        Path stat = Path.of("/proc/" + pid + "/stat");
        while (System.nanoTime() < deadline) {
            String line = Files.readString(stat);
            String comm = line.substring(line.indexOf('(') + 1, line.lastIndexOf(')'));
            String[] after = line.substring(line.lastIndexOf(')') + 2).split(" ");
            if (comm.equals("sleep") && Long.parseLong(after[3]) == pid) { // state ppid pgrp session
                return;
            }
            Thread.sleep(1);
        }
    }
}
