package dev.cryo.lazypages;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.cryo.dump.DumpListener;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.LazyServing;
import dev.cryo.parasite.Cancellation;
import dev.cryo.restore.LazyHandoff;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.Restorer;
import dev.cryo.syscalls.Fd;

/** What the lazy-pages tests share: a daemon in a thread, a lazy restore, a lazy dump in a thread, the trees they make. */
final class LazyTrees {
    private LazyTrees() {}

    /** A daemon serving in a thread of its own. */
    static final class Daemon implements AutoCloseable {
        final LazyPages pages;
        final CompletableFuture<LazyPages.Stats> done = new CompletableFuture<>();
        /** What it said (its -v lines). */
        final List<String> log;

        private Daemon(LazyPages pages, List<String> log) {
            this.pages = pages;
            this.log = log;
        }

        static Daemon start(Path images, Path socket, dev.cryo.pagexfer.PageServerEndpoint source, Duration timeout, Duration delay) {
            List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
            LazyPages p = LazyPages.listen(new LazyPages.Options(images, socket, source, timeout, log::add, delay));
            Daemon d = new Daemon(p, log);
            Thread t = new Thread(() -> {
                try {
                    d.done.complete(p.serve(() -> { }));
                } catch (Throwable e) {
                    d.done.completeExceptionally(e);
                }
            }, "lazy-pages-test");
            t.setDaemon(true);
            t.start();
            return d;
        }

        /** The daemon's stats once it ends ({@code seconds} at most), or its failure thrown. */
        LazyPages.Stats await(long seconds) throws Exception {
            try {
                return done.get(seconds, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw (Exception) (e.getCause() instanceof Exception x ? x : new RuntimeException(e.getCause()));
            }
        }

        @Override
        public void close() {
            pages.close();
        }
    }

    /** The restore's side of a handoff, over a {@link Handoff}. */
    static LazyHandoff through(Handoff h) {
        return new LazyHandoff() {
            @Override
            public void hand(int pid, Fd uffd, Fd pidfd) {
                h.hand(pid, uffd, pidfd);
            }

            @Override
            public void released() {
                h.released();
            }
        };
    }

    /** Restores {@code images} lazily into a new pid namespace (the original may hold its pids), detached; the root's host pid. */
    static int restoreLazily(Path images, Path socket) throws Exception {
        try (Handoff h = Handoff.connect(socket)) {
            return Restorer.restore(RestoreOptions.of(images).withDetached(true).withPidns(true).withShellJob(true).withLazyPages(through(h)),
                    new Cancellation()).rootPid();
        }
    }

    /** A dump with --lazy-pages running in a thread: where it serves, once its images are written, and how it ends. */
    static final class LazyDump {
        final CompletableFuture<String> serving = new CompletableFuture<>();
        final CompletableFuture<DumpStats> done = new CompletableFuture<>();

        static LazyDump start(int pid, Path images) {
            return start(pid, images, null);
        }

        /** On top of the pre-dump {@code prev} (relative to {@code images}, tracked), or of nothing. */
        static LazyDump start(int pid, Path images, Path prev) {
            LazyDump d = new LazyDump();
            DumpOptions o = DumpOptions.of(pid, images).withWarmUp(false).withShellJob(true).withPrevImagesDir(prev).withTrackMem(prev != null)
                    .withLazyPages(new LazyServing(InetAddress.getLoopbackAddress(), 0, null))
                    .withListener(new DumpListener() {
                        @Override
                        public void servingLazyPages(String where) {
                            d.serving.complete(where);
                        }
                    });
            Thread t = new Thread(() -> {
                try {
                    d.done.complete(Dumper.dump(o, new Cancellation()));
                } catch (Throwable e) {
                    d.serving.completeExceptionally(e);
                    d.done.completeExceptionally(e);
                }
            }, "lazy-dump-test");
            t.setDaemon(true);
            t.start();
            return d;
        }

        /** The port it serves on, once its images are written. */
        int port() throws Exception {
            String where = serving.get(60, TimeUnit.SECONDS);
            return Integer.parseInt(where.substring(where.lastIndexOf(':') + 1));
        }

        DumpStats await(long seconds) throws Exception {
            try {
                return done.get(seconds, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                throw (Exception) (e.getCause() instanceof Exception x ? x : new RuntimeException(e.getCause()));
            }
        }
    }

    /** A copy of the dump's images, as the destination host gets them. */
    static Path copyImages(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".img")).toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    /** The process and its descendants, as cryo sees their pids. */
    static List<Integer> tree(int pid) {
        List<Integer> out = new ArrayList<>();
        collect(pid, out);
        return out;
    }

    private static void collect(int pid, List<Integer> out) {
        out.add(pid);
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                for (String c : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                    if (!c.isEmpty()) {
                        collect(Integer.parseInt(c), out);
                    }
                }
            }
        } catch (IOException gone) {
            // ended while we looked
        }
    }

    static boolean alive(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    /** Kills what is left of a restored tree (a test that failed half-way), and waits for it to be gone. */
    static void kill(List<Integer> pids) {
        for (int p : pids) {
            try {
                dev.cryo.syscalls.Signals.kill(p, 9);
            } catch (RuntimeException gone) {
                // ended already
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pids.stream().anyMatch(LazyTrees::alive) && System.nanoTime() < deadline) {
            pause();
        }
    }

    /** Sends {@code signal} to pd_dirty (restored, at host pid {@code pid}) and waits for its answer in DIR/NAME. */
    static String ask(int pid, Path dir, String name, int signal) {
        Path answer = dir.resolve(name);
        try {
            Files.deleteIfExists(answer);
            dev.cryo.syscalls.Signals.kill(pid, signal);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(answer)) {
                if (System.nanoTime() > deadline) {
                    return "no " + name + " within 60 s (alive: " + alive(pid) + ")";
                }
                pause();
            }
            return Files.readString(answer).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
