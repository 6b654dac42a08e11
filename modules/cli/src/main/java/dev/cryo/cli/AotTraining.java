package dev.cryo.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.service.RpcService;

/**
 * The training run that {@code ./cryo} records its JDK AOT cache from at build time (JEP 483/514/515): the
 * commands people run, through the command line as they type them, with their output thrown away, so that
 * their classes are loaded and linked and their methods profiled ahead of time. That includes real work on
 * a small tree of its own (a shell and two sleeps joined by a pipe, in a session of its own): pre-dumps in
 * both modes, a dump, a restore of it; then the RPC service's requests, as a client sends them, on the
 * same tree ({@link RpcService#rehearse}); then a lazy restore of it with its daemon. Only what the training started
 * is touched, and it is all gone at the
 * end, with the temporary directory.
 */
public final class AotTraining {
    private AotTraining() {}

    /**
     * The whole training; with {@code --command-line}, only the commands that {@code ./cryo} starts with its light
     * cache ({@code --help}, {@code --version}, {@code help VERB}, {@code check}), that cache's training.
     */
    public static void main(String[] args) throws IOException, InterruptedException {
        PrintWriter discard = new PrintWriter(Writer.nullWriter());
        EarlyStart.begin(new String[] {"check"}); // as Main.main does: no warm-up for check, but its classes
        // What Main's System.exit does first (Shutdown.logRuntimeExit): the logger lookup, its ~25 classes otherwise
        // loaded from the JDK's modules at the end of every command.
        System.getLogger("java.lang.Runtime").isLoggable(System.Logger.Level.DEBUG);
        for (List<String> line : List.of(
                List.of("check"),
                List.of("--help"),
                List.of("--version"),
                List.of("help", "dump"))) {
            Main.run(line.toArray(String[]::new), discard, discard);
        }
        if (args.length > 0 && args[0].equals("--command-line")) {
            return;
        }
        Path dir = Files.createTempDirectory(scratch(), "cryo-aot-training-");
        List<Long> started = new ArrayList<>();
        try {
            new DirectoryImageStore(dir).writeEntry(ImageKind.PSTREE,
                    PstreeEntry.newBuilder().setPid(1).setPpid(0).setPgid(1).setSid(1).addThreads(1).build());
            for (List<String> line : List.of(
                    List.of("dump", "--help"),
                    List.of("pre-dump", "--help"),
                    List.of("restore", "--help"),
                    List.of("show", dir.resolve("pstree.img").toString()),
                    List.of("show", dir.resolve("missing.img").toString()),
                    List.of("dump", "--no-such-option"))) {
                Main.run(line.toArray(String[]::new), discard, discard);
            }
            long tree = startTree();
            started.add(tree);
            String pid = Long.toString(tree);
            Path pre1 = Files.createDirectory(dir.resolve("pre1"));
            Path pre2 = Files.createDirectory(dir.resolve("pre2"));
            Path dump = Files.createDirectory(dir.resolve("dump"));
            run(discard, "pre-dump", "-t", pid, "-D", pre1.toString(), "--pre-dump-mode", "splice", "--no-warm-up");
            run(discard, "pre-dump", "-t", pid, "-D", pre2.toString(), "--prev-images-dir", "../pre1", "--pre-dump-mode", "read",
                    "--no-warm-up");
            List<Long> pids = treePids(tree);
            run(discard, "dump", "-t", pid, "-D", dump.toString(), "--prev-images-dir", "../pre2", "--track-mem", "--no-warm-up",
                    "--display-stats");
            // The tree is gone with the dump: the restore takes its pids back, and is killed right after.
            awaitFree(pids);
            run(discard, "restore", "-D", dump.toString(), "-d", "--display-stats");
            run(discard, "show", dump.resolve("pstree.img").toString());
            // The service's path, as a client takes it: the restored tree pre-dumped, dumped and restored again.
            RpcService.rehearse(Math.toIntExact(tree), dir);
            lazyRound(discard, dir, pid);
        } finally {
            for (long pid : started) {
                ProcessHandle.of(pid).ifPresent(h -> {
                    h.descendants().forEach(ProcessHandle::destroyForcibly);
                    h.destroyForcibly();
                });
            }
            delete(dir);
        }
    }

    /**
     * A lazy restore, as a user runs one: the tree dumped again, a lazy-pages daemon on its images (in a thread,
     * as its own command would run), the restore handing it the userfaultfds; the daemon ends once every page is in.
     */
    private static void lazyRound(PrintWriter discard, Path dir, String pid) throws IOException, InterruptedException {
        Path lazy = Files.createDirectory(dir.resolve("lazy"));
        Path socket = dir.resolve("lazy.sock");
        List<Long> pids = treePids(Long.parseLong(pid));
        run(discard, "dump", "-t", pid, "-D", lazy.toString(), "--no-warm-up");
        awaitFree(pids);
        Thread daemon = new Thread(() -> run(discard, "lazy-pages", "-D", lazy.toString(), "--lazy-addr", socket.toString(),
                "--display-stats"), "aot-lazy-pages");
        daemon.start();
        for (int i = 0; i < 5000 && !Files.exists(socket) && daemon.isAlive(); i++) {
            Thread.sleep(2);
        }
        if (Files.exists(socket)) {
            run(discard, "restore", "-D", lazy.toString(), "-d", "--lazy-pages", "--lazy-addr", socket.toString(), "--display-stats");
        }
        daemon.join(TimeUnit.SECONDS.toMillis(30));
    }

    /** The pids of the tree rooted at {@code root}, the root's first. */
    static List<Long> treePids(long root) {
        List<Long> pids = new ArrayList<>(List.of(root));
        ProcessHandle.of(root).ifPresent(h -> h.descendants().forEach(d -> pids.add(d.pid())));
        return pids;
    }

    /**
     * Waits (up to 5 s) until a dumped tree's pids are free again for its restore: the dump kills the tree, and
     * its processes stay zombies until their parent reaps them; an init that is slow to (here: about a second)
     * made every restore of the training fail with "pid taken", and left the restore's code out of the cache.
     */
    static void awaitFree(List<Long> pids) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (pids.stream().anyMatch(p -> Files.exists(Path.of("/proc", Long.toString(p)))) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    private static void run(PrintWriter discard, String... line) {
        Main.run(line, discard, discard);
    }

    /**
     * {@code sh -c 'sleep 60 | sleep 60'} in a session of its own, started by a shell that exits at once: so
     * it is no child of this JVM, whose process reaper would take its ptrace stops. Returned once both
     * sleeps run.
     */
    private static long startTree() throws IOException {
        Process shell = new ProcessBuilder("sh", "-c", "setsid sh -c 'sleep 60 | sleep 60' </dev/null >/dev/null 2>&1 & echo $!")
                .redirectErrorStream(true).start();
        String pid = new String(shell.getInputStream().readAllBytes()).trim();
        try {
            shell.waitFor();
            Path children = Path.of("/proc", pid, "task", pid, "children");
            for (int i = 0; i < 2000 && Files.exists(children) && Files.readString(children).trim().split(" ").length < 2; i++) {
                Thread.sleep(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Long.parseLong(pid);
    }

    /** tmpfs when there is one: the training's images never touch a disk. */
    private static Path scratch() {
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}
