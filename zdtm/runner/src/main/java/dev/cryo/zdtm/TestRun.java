package dev.cryo.zdtm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.cryo.syscalls.Cgroup2;
import dev.cryo.testkit.ImageDaemonProcess;
import dev.cryo.testkit.PageServerProcess;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TestCgroup;
import dev.cryo.testkit.TwoHosts;

/**
 * One test through one cycle: start the program, read what it looks like, put it through cryo, read what the
 * restored tree looks like and compare, then SIGTERM it and take its own verdict. Every process it started or
 * restored is gone when {@link #run} returns.
 */
final class TestRun {
    private static final long EXIT_SECONDS = 20;

    private final ZdtmTest test;
    private final Cycle cycle;
    private final Path work;
    private final Cryo cryo;
    private final List<Integer> restored = new ArrayList<>();

    /** A step that went wrong; its message is the test's failure reason. */
    private static final class Failed extends Exception {
        Failed(String message) {
            super(message);
        }
    }

    TestRun(ZdtmTest test, Cycle cycle, Path work, Cryo cryo) {
        this.test = test;
        this.cycle = cycle;
        this.work = work.resolve(test.name() + "." + cycle.id());
        this.cryo = cryo;
    }

    Outcome run() {
        long start = System.nanoTime();
        String failure;
        try {
            deleteTree(work);
            Files.createDirectories(work);
            failure = drive();
        } catch (IOException e) {
            failure = "cannot prepare " + work + ": " + e.getMessage();
        } finally {
            killRestored();
        }
        long took = System.nanoTime() - start;
        if (failure == null) {
            deleteTree(work); // images can be large (map_1g); failures keep theirs to look at
            return new Outcome(test.name(), cycle, Outcome.Verdict.PASSED, "", took);
        }
        return new Outcome(test.name(), cycle, Outcome.Verdict.FAILED, failure, took);
    }

    /** Returns null when the test passed, else why not. */
    private String drive() throws IOException {
        Path dir = work.resolve("dir"), images = Files.createDirectories(work.resolve("images"));
        Target target;
        try {
            target = Target.start(test.name(), dir, Target.Stdio.DEV_NULL);
        } catch (IllegalStateException e) {
            return "did not start: " + e.getMessage();
        }
        try (target) {
            int pid = target.pid();
            settle(pid, null); // the program may write "ready" a moment before it sleeps
            Map<Integer, String> sleeps = VisibleState.syscalls(pid);
            VisibleState before = VisibleState.capture(pid);
            Files.writeString(work.resolve("state-before.txt"), before.describe());
            int root;
            try {
                root = switch (cycle) {
                    case NONE -> pid;
                    case HOST -> host(target, images);
                    case PIDNS -> pidns(target, images);
                    case PREDUMP -> predump(target, images);
                    case CGROUP -> cgroup(target, images);
                    case PAGESERVER -> pageserver(target, images);
                    case REMOTE -> remote(target, images);
                };
            } catch (Failed | Cryo.CommandFailed | IOException e) {
                return e.getMessage();
            }
            if (cycle != Cycle.NONE) {
                hostDescendants(root, restored); // for the clean-up, whatever happens next
            }
            if (!alive(root)) {
                Path result = dir.resolve("result");
                return "ended right after the restore, before SIGTERM: "
                        + (Files.exists(result) ? Files.readString(result).strip() : "no verdict");
            }
            settle(root, sleeps);
            VisibleState after = VisibleState.capture(root);
            Files.writeString(work.resolve("state-after.txt"), after.describe());
            List<String> differences = after.differencesFrom(before);
            if (cycle == Cycle.PIDNS) {
                target.close(); // the original ran beside the restored tree; only the restored one checks itself
            }
            String verdict = terminate(root, target, dir);
            if (!differences.isEmpty()) {
                return "state differs after restore: " + String.join("; ", differences.subList(0, Math.min(5, differences.size())))
                        + (differences.size() > 5 ? "; and " + (differences.size() - 5) + " more" : "")
                        + (verdict.equals("PASS") ? "" : "; the program says " + verdict);
            }
            return verdict.equals("PASS") ? null : verdict;
        }
    }

    /** host: dump (which kills the tree), then restore with the same pids. */
    private int host(Target target, Path images, String... dumpOptions) throws Failed, Cryo.CommandFailed {
        dump(target, images, dumpOptions);
        return restore(target, images);
    }

    /** cgroup: the tree in a cgroup of its own, whose freezer the dump must use; then as host. */
    private int cgroup(Target target, Path images) throws Failed, Cryo.CommandFailed {
        // Not a skip: a cgroup cycle asked for on a host without cgroup2 fails, saying why.
        Path mount = Cgroup2.mountPoint()
                .orElseThrow(() -> new Failed("no cgroup2 hierarchy is mounted, so the cgroup cycle cannot run here"));
        try (TestCgroup cgroup = TestCgroup.create(mount)) {
            target.processes().forEach(cgroup::add);
            String freezer = dump(target, images, "--display-stats").lines().filter(l -> l.startsWith("freezer:"))
                    .map(l -> l.substring("freezer:".length()).strip()).findFirst().orElse("(no freezer line)");
            if (!freezer.equals("cgroup2 " + cgroup.dir())) {
                throw new Failed("the dump stopped the tree by " + freezer + ", not by the freezer of " + cgroup.dir());
            }
        }
        return restore(target, images);
    }

    /** cryo dump of the target (which kills it) with {@code options}; returns what cryo printed. */
    private String dump(Target target, Path images, String... options) throws Failed, Cryo.CommandFailed {
        List<String> dump = new ArrayList<>(List.of("dump", "-t", Integer.toString(target.pid()), "-D", images.toString()));
        dump.addAll(List.of(options));
        dump.addAll(test.dumpOptions());
        String said = cryo.run(dump.toArray(String[]::new));
        if (!target.awaitExit(30)) {
            throw new Failed("the dump left the tree running");
        }
        return said;
    }

    /** cryo restore -d of a host dump: the tree must come back with its own pids. */
    private int restore(Target target, Path images) throws Failed, Cryo.CommandFailed {
        int root = cryo.restoreDetached(restoreArgs(images));
        if (root != target.pid()) {
            hostDescendants(root, restored);
            throw new Failed("restored as pid " + root + ", not " + target.pid());
        }
        return root;
    }

    /** pidns: dump --leave-running, then restore into a new pid namespace beside the original. */
    private int pidns(Target target, Path images) throws Failed, Cryo.CommandFailed {
        List<String> dump = new ArrayList<>(List.of("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(), "--leave-running"));
        dump.addAll(test.dumpOptions());
        cryo.run(dump.toArray(String[]::new));
        if (!target.isAlive()) {
            throw new Failed("the original died in a dump with --leave-running");
        }
        return cryo.restoreDetached(restoreArgs(images, "--pidns"));
    }

    /** {@code restore -D IMAGES -d}, the cycle's own options, then the test's. */
    private String[] restoreArgs(Path images, String... options) {
        List<String> args = new ArrayList<>(List.of("restore", "-D", images.toString(), "-d"));
        args.addAll(List.of(options));
        args.addAll(test.restoreOptions());
        return args.toArray(String[]::new);
    }

    /** predump: two pre-dumps, each on top of the one before, then a dump on top of them, then restore. */
    private int predump(Target target, Path images) throws Failed, Cryo.CommandFailed, IOException {
        String pid = Integer.toString(target.pid());
        Path pre1 = Files.createDirectories(work.resolve("pre1")), pre2 = Files.createDirectories(work.resolve("pre2"));
        cryo.run("pre-dump", "-t", pid, "-D", pre1.toString());
        cryo.run("pre-dump", "-t", pid, "-D", pre2.toString(), "--prev-images-dir", "../pre1");
        if (!target.isAlive()) {
            throw new Failed("the tree died in a pre-dump");
        }
        return host(target, images, "--prev-images-dir", "../pre2", "--track-mem");
    }

    /**
     * pageserver: the predump cycle with every step's pages sent to a {@code cryo page-server} in another network
     * namespace. The three servers start together (each a JVM), each step's in the server namespace with its
     * directory linked to the step before; cryo's steps run in the client namespace. The restore reads the last
     * server directory, with the dump's other images copied beside its pages, as on a destination host.
     */
    private int pageserver(Target target, Path images) throws Failed, Cryo.CommandFailed, IOException {
        String pid = Integer.toString(target.pid());
        Path local = Files.createDirectories(work.resolve("local")), served = Files.createDirectories(work.resolve("served"));
        List<String> steps = List.of("pre1", "pre2", "dump");
        try (TwoHosts hosts = TwoHosts.create("zd")) {
            List<PageServerProcess> servers = new ArrayList<>();
            try {
                for (int i = 0; i < steps.size(); i++) {
                    Path dir = Files.createDirectories(served.resolve(steps.get(i)));
                    String[] prev = i == 0 ? new String[0] : new String[] {"--prev-images-dir", "../" + steps.get(i - 1)};
                    // a namespace of its own: the same port for every test
                    servers.add(PageServerProcess.start(hosts.inServer(), dir, TwoHosts.SERVER_ADDRESS, 27001 + i, prev));
                }
                for (int i = 0; i < steps.size(); i++) {
                    Path dir = i == 2 ? images : Files.createDirectories(local.resolve(steps.get(i)));
                    List<String> cmd = new ArrayList<>(List.of(i == 2 ? "dump" : "pre-dump", "-t", pid, "-D", dir.toString(),
                            "--page-server", "--address", TwoHosts.SERVER_ADDRESS, "--port", Integer.toString(servers.get(i).port())));
                    if (i > 0) {
                        cmd.addAll(List.of("--prev-images-dir", i == 2 ? "../local/pre2" : "../" + steps.get(i - 1)));
                    }
                    if (i == 2) {
                        cmd.add("--track-mem");
                        cmd.addAll(test.dumpOptions());
                    }
                    cryo.runInNetns(hosts.clientNamespace(), cmd.toArray(String[]::new));
                    String ended = servers.get(i).awaitEnd(30);
                    if (ended != null) {
                        throw new Failed(steps.get(i) + ": " + ended);
                    }
                    if (i < 2 && !target.isAlive()) {
                        throw new Failed("the tree died in a pre-dump");
                    }
                }
            } catch (IllegalStateException e) {
                throw new Failed(e.getMessage());
            } finally {
                servers.forEach(PageServerProcess::close);
            }
        }
        if (!target.awaitExit(30)) {
            throw new Failed("the dump left the tree running");
        }
        // the destination: the dump's images beside the pages its server received
        Path restoreFrom = served.resolve("dump");
        try (Stream<Path> files = Files.list(images)) {
            for (Path f : files.filter(f -> Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList()) {
                Files.copy(f, restoreFrom.resolve(f.getFileName()));
            }
        }
        return restore(target, restoreFrom);
    }

    /**
     * remote: the predump cycle with every image of every step written through a {@code cryo image-proxy} (in the
     * client namespace) to a {@code cryo image-cache} (in the server namespace) over the veth; nothing goes to
     * disk. -D names each step's snapshot. The restore reads every image from the cache. The proxy must end once
     * the dump is complete, the cache once the restore is done.
     */
    private int remote(Target target, Path images) throws Failed, Cryo.CommandFailed {
        String pid = Integer.toString(target.pid());
        Path cacheSocket = work.resolve("cache.sock"), proxySocket = work.resolve("proxy.sock");
        String[] viaProxy = {"--remote", "--local-socket", proxySocket.toString()};
        try (TwoHosts hosts = TwoHosts.create("ri");
             ImageDaemonProcess cache = ImageDaemonProcess.cache(hosts.inServer(), TwoHosts.SERVER_ADDRESS, 27100, cacheSocket,
                     work.resolve("image-cache.out"), "-v")) {
            cache.ready();
            try (ImageDaemonProcess proxy = ImageDaemonProcess.proxy(hosts.inClient(), TwoHosts.SERVER_ADDRESS, 27100, proxySocket,
                    work.resolve("image-proxy.out"), "-v")) {
                proxy.ready();
                List<String> pre1 = new ArrayList<>(List.of("pre-dump", "-t", pid, "-D", work.resolve("pre1").toString()));
                pre1.addAll(List.of(viaProxy));
                cryo.run(pre1.toArray(String[]::new));
                List<String> pre2 = new ArrayList<>(List.of("pre-dump", "-t", pid, "-D", work.resolve("pre2").toString(),
                        "--prev-images-dir", "../pre1"));
                pre2.addAll(List.of(viaProxy));
                cryo.run(pre2.toArray(String[]::new));
                if (!target.isAlive()) {
                    throw new Failed("the tree died in a pre-dump");
                }
                dump(target, images, Stream.concat(Stream.of("--prev-images-dir", "../pre2", "--track-mem"), Stream.of(viaProxy))
                        .toArray(String[]::new));
                String ended = proxy.awaitEnd(30);
                if (ended != null) {
                    throw new Failed("after the dump: " + ended);
                }
            }
            int root = cryo.restoreDetached(restoreArgs(images, "--remote", "--local-socket", cacheSocket.toString()));
            if (root != target.pid()) {
                hostDescendants(root, restored);
                throw new Failed("restored as pid " + root + ", not " + target.pid());
            }
            String ended = cache.awaitEnd(30);
            if (ended != null) {
                hostDescendants(root, restored);
                throw new Failed("after the restore: " + ended);
            }
            if (Files.exists(images.resolve("inventory.img")) || Files.exists(work.resolve("pre1"))) {
                hostDescendants(root, restored);
                throw new Failed("an image was written to disk: " + (Files.exists(work.resolve("pre1")) ? work.resolve("pre1") : images.resolve("inventory.img")));
            }
            return root;
        } catch (IllegalStateException e) {
            throw new Failed(e.getMessage());
        }
    }

    /**
     * Waits (2 s at most) until every thread of the tree sleeps in a system call, or, after a restore, every thread
     * that slept before (SLEEPS, by innermost tid) sleeps again, so that both states are read at rest.
     */
    private static void settle(int root, Map<Integer, String> sleeps) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < deadline) {
            Map<Integer, String> now = VisibleState.syscalls(root);
            boolean atRest = (sleeps == null ? now : sleeps).entrySet().stream()
                    .filter(e -> sleeps == null || !e.getValue().equals("running"))
                    .allMatch(e -> !List.of("running", "gone").contains(now.getOrDefault(e.getKey(), "gone")));
            if (atRest) {
                return;
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** SIGTERM to the root, wait for it to end, and read its verdict: "PASS" or the reason it gives. */
    private String terminate(int root, Target target, Path dir) {
        Path result = dir.resolve("result");
        try {
            if (!alive(root)) {
                return "ended before SIGTERM: " + (Files.exists(result) ? Files.readString(result).strip() : "no verdict");
            }
            new ProcessBuilder("kill", "-TERM", Integer.toString(root)).start().waitFor();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(EXIT_SECONDS);
            while (alive(root)) {
                if (System.nanoTime() > deadline) {
                    return "still running " + EXIT_SECONDS + " s after SIGTERM (" + howItRuns(root) + ")";
                }
                Thread.sleep(10);
            }
            if (cycle == Cycle.NONE) {
                target.awaitExit(EXIT_SECONDS);
            }
            if (!Files.exists(result)) {
                return "ended without a verdict (no " + result.getFileName() + ")";
            }
            String said = Files.readString(result).strip();
            return said.isEmpty() ? "an empty verdict" : said;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static void hostDescendants(int pid, List<Integer> out) {
        if (out.contains(pid)) {
            return;
        }
        out.add(pid);
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                for (String c : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                    if (!c.isEmpty()) {
                        hostDescendants(Integer.parseInt(c), out);
                    }
                }
            }
        } catch (IOException gone) {
            // ended while we looked
        }
    }

    /** Kills whatever of the restored tree still runs; the restore's keeper reaps it. */
    private void killRestored() {
        for (int pid : restored) {
            if (alive(pid)) {
                try {
                    new ProcessBuilder("kill", "-KILL", Integer.toString(pid)).start().waitFor();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (restored.stream().anyMatch(TestRun::alive) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** What a process that does not end is doing: its state, where it waits, its signals, its tracer. */
    private static String howItRuns(int pid) {
        Map<String, String> s = VisibleState.status(Path.of("/proc/" + pid + "/status"));
        String wchan;
        try {
            wchan = Files.readString(Path.of("/proc/" + pid + "/wchan")).strip();
        } catch (IOException e) {
            wchan = "?";
        }
        return "State " + s.get("State") + ", wchan " + wchan + ", SigPnd " + s.get("SigPnd") + ", ShdPnd " + s.get("ShdPnd")
                + ", SigBlk " + s.get("SigBlk") + ", SigCgt " + s.get("SigCgt") + ", TracerPid " + s.get("TracerPid");
    }

    /** Alive and not a zombie. */
    static boolean alive(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> all = Files.walk(p)) {
            for (Path f : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
