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
import dev.cryo.syscalls.NetworkLock;
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
    /** Commands of a lazy cycle that run on while the test does (the daemon, a dump serving its memory), in that order. */
    private final List<Background> background = new ArrayList<>();
    /** The two hosts of remote-lazy, kept until its commands have ended. */
    private TwoHosts hosts;
    /** The program's pid, once started: the dump names its network lock after it. */
    private int startedPid;
    /** remote-lazy: the original tree, which its dump keeps frozen until the daemon is done, then kills. */
    private final List<Integer> original = new ArrayList<>();

    /** How long the lazy cycles' daemon answers faults alone after the tree runs: long enough for the program's check. */
    private static final String PREFETCH_DELAY_MS = "2000";
    /** How long a lazy cycle's commands may take to end once the program has. */
    private static final long LAZY_END_SECONDS = 60;

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
            background.forEach(Background::close);
            if (hosts != null) {
                hosts.close();
            }
            if (startedPid > 0 && test.dumpOptions().contains("--tcp-established")) {
                // a dump that kept connections locked, whose restore failed or never came: the lock is the test's
                NetworkLock.unlock("cryo-" + startedPid);
            }
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
            startedPid = pid;
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
                    case LAZY -> lazy(target, images);
                    case REMOTE_LAZY -> remoteLazy(target, images);
                    case REMOTE -> remote(target, images);
                    case MIGRATE -> migrate(target);
                    case MIGRATE_LAZY -> migrate(target, "--post-copy");
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
                // the original ran beside the restored tree; only the restored one checks itself. What the program
                // left outside its tree (a peer it talks to) stays for the check.
                killTree(target.pid());
            }
            // remote-lazy: the original stays frozen by its dump until the daemon has its memory; the dump kills it
            String verdict = terminate(root, target, dir);
            String lazyEnd = lazyEnd();
            if (lazyEnd != null && differences.isEmpty() && verdict.equals("PASS")) {
                return lazyEnd;
            }
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
            // the tree only: a process the program left outside it (a peer) stays where it is
            List<Integer> tree = new ArrayList<>();
            hostDescendants(target.pid(), tree);
            tree.forEach(cgroup::add);
            String freezer = dump(target, images, "--display-stats").lines().filter(l -> l.startsWith("freezer:"))
                    .map(l -> l.substring("freezer:".length()).strip()).findFirst().orElse("(no freezer line)");
            if (!freezer.equals("cgroup2 " + cgroup.dir())) {
                throw new Failed("the dump stopped the tree by " + freezer + ", not by the freezer of " + cgroup.dir());
            }
        }
        return restore(target, images);
    }

    /**
     * cryo dump of the target (which kills it) with {@code options} and the test's own; returns what cryo printed.
     * The tree is the program and its descendants: a process it left outside (an orphan of the nanny, a peer for
     * a connection to outside the tree) runs on.
     */
    private String dump(Target target, Path images, String... options) throws Failed, Cryo.CommandFailed {
        List<String> dump = new ArrayList<>(List.of("dump", "-t", Integer.toString(target.pid()), "-D", images.toString()));
        dump.addAll(List.of(options));
        dump.addAll(test.dumpOptions());
        List<Integer> tree = new ArrayList<>();
        hostDescendants(target.pid(), tree);
        String said = cryo.run(dump.toArray(String[]::new));
        awaitGone(tree);
        return said;
    }

    /**
     * Waits until the dumped {@code tree} is gone and reaped (the nanny reaps it: a zombie still holds its pid,
     * which the restore needs); a process the program left outside its tree (a peer) runs on.
     */
    private static void awaitGone(List<Integer> tree) throws Failed {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // gone and reaped (the nanny reaps them): a zombie still holds its pid, which the restore needs
        while (tree.stream().anyMatch(pid -> Files.exists(Path.of("/proc/" + pid)))) {
            if (System.nanoTime() > deadline) {
                throw new Failed(tree.stream().anyMatch(TestRun::alive) ? "the dump left the tree running"
                        : "the tree's processes were not reaped within 30 s of the dump");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failed("interrupted");
            }
        }
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

    /**
     * lazy: dump (the tree is killed), then a lazy-pages daemon on the images and a lazy restore with the same pids.
     * The daemon answers faults alone for {@value #PREFETCH_DELAY_MS} ms after the tree runs, so that what the
     * program reads and checks comes by fault.
     */
    private int lazy(Target target, Path images) throws Failed, Cryo.CommandFailed {
        dump(target, images);
        Path socket = work.resolve("lazy.sock");
        Background daemon = Background.start(cryo, null, "lazy-pages", "-D", images.toString(), "--lazy-addr", socket.toString(),
                "--prefetch-delay", PREFETCH_DELAY_MS);
        background.add(daemon);
        awaitSocket(socket, daemon);
        int root = cryo.restoreDetached(restoreArgs(images, "--lazy-pages", "--lazy-addr", socket.toString()));
        if (root != target.pid()) {
            hostDescendants(root, restored);
            throw new Failed("restored as pid " + root + ", not " + target.pid());
        }
        return root;
    }

    /**
     * remote-lazy: post-copy between two network namespaces. The dump serves the memory it keeps from the first;
     * its images are copied once written; the daemon, fetching from the dump, and the restore (--pidns: the
     * original, frozen, still holds its pids) are in the second.
     */
    private int remoteLazy(Target target, Path images) throws Failed, Cryo.CommandFailed, IOException {
        hosts = TwoHosts.create("zl");
        hostDescendants(target.pid(), original);
        String port = "27101"; // a namespace of its own: the same port for every test
        List<String> dump = new ArrayList<>(List.of("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(),
                "--lazy-pages", "--address", TwoHosts.SERVER_ADDRESS, "--port", port));
        dump.addAll(test.dumpOptions());
        Background source = Background.start(cryo, hosts.serverNamespace(), dump.toArray(String[]::new));
        Path served = Files.createDirectories(work.resolve("served"));
        Path inventory = images.resolve("inventory.img");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(inventory)) {
            if (!source.running()) {
                throw new Failed(String.valueOf(source.awaitEnd(0)));
            }
            if (System.nanoTime() > deadline) {
                throw new Failed("the lazy dump wrote no inventory.img within 60 s");
            }
            pause();
        }
        // the destination: the dump's images, as copied to another host
        try (Stream<Path> files = Files.list(images)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".img")).toList()) {
                Files.copy(f, served.resolve(f.getFileName()));
            }
        }
        Path socket = work.resolve("lazy.sock");
        Background daemon = Background.start(cryo, hosts.clientNamespace(), "lazy-pages", "-D", served.toString(),
                "--lazy-addr", socket.toString(), "--page-server", "--address", TwoHosts.SERVER_ADDRESS, "--port", port,
                "--prefetch-delay", PREFETCH_DELAY_MS);
        background.add(daemon);
        background.add(source);
        awaitSocket(socket, daemon);
        return cryo.restoreDetached(restoreArgs(served, "--pidns", "--lazy-pages", "--lazy-addr", socket.toString()));
    }

    /** Waits until the daemon listens on {@code socket} (60 s at most); fails with its own line if it ended first. */
    private static void awaitSocket(Path socket, Background daemon) throws Failed {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(socket)) {
            if (!daemon.running()) {
                throw new Failed(String.valueOf(daemon.awaitEnd(0)));
            }
            if (System.nanoTime() > deadline) {
                throw new Failed("the lazy-pages daemon did not listen on " + socket + " within 60 s");
            }
            pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Once the program has ended: a lazy cycle's commands end too, and well (the daemon when its tree has exited,
     * the dump once the daemon has said CLOSE, killing the original); null when they did, else why not.
     */
    private String lazyEnd() {
        for (Background b : background) {
            String failed = b.awaitEnd(LAZY_END_SECONDS);
            if (failed != null) {
                return failed;
            }
        }
        if (cycle == Cycle.REMOTE_LAZY) {
            try {
                awaitGone(original);
            } catch (Failed f) {
                return "once its daemon was done, the lazy dump: " + f.getMessage();
            }
        }
        return null;
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
        List<Integer> tree = new ArrayList<>();
        hostDescendants(target.pid(), tree);
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
        awaitGone(tree);
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
     * migrate: {@code cryo migrate} in the client namespace moves the tree to a {@code cryo migrate-server --pidns} in
     * the server namespace, which restores it into this runner's network namespace, where it ran (the tree's own, as a
     * container's, that both hosts reach). The original must be gone once the migration has ended, and the server
     * must have ended well; its last line names the restored pid.
     */
    private int migrate(Target target, String... options) throws Failed, Cryo.CommandFailed, IOException {
        String port = "27200"; // a namespace of its own: the same port for every test
        List<Integer> tree = new ArrayList<>();
        hostDescendants(target.pid(), tree);
        Path dir = Files.createDirectories(work.resolve("destination"));
        try (TwoHosts hosts = TwoHosts.create("mg");
             ImageDaemonProcess server = ImageDaemonProcess.migrateServer(hosts.inServer(), TwoHosts.SERVER_ADDRESS, Integer.parseInt(port),
                     dir, work.resolve("migrate-server.out"), "--pidns", "--join-ns", "net:/proc/" + ProcessHandle.current().pid() + "/ns/net")) {
            server.ready();
            List<String> cmd = new ArrayList<>(List.of("migrate", "-t", Integer.toString(target.pid()), "--to",
                    TwoHosts.SERVER_ADDRESS + ":" + port, "--display-stats"));
            cmd.addAll(List.of(options));
            cmd.addAll(test.dumpOptions());
            Files.writeString(work.resolve("migrate.out"), cryo.runInNetns(hosts.clientNamespace(), cmd.toArray(String[]::new)));
            String ended = server.awaitEnd(30);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("restored pid (\\d+)").matcher(server.output());
            if (m.find()) {
                hostDescendants(Integer.parseInt(m.group(1)), restored);
            }
            if (ended != null) {
                throw new Failed("the migration server: " + ended);
            }
            if (restored.isEmpty()) {
                throw new Failed("the migration server did not say which pid it restored: " + server.output().strip());
            }
            awaitGone(tree);
            return restored.getFirst();
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

    /** SIGKILL to {@code root} and its descendants, then waits (10 s at most) until they are gone. */
    private static void killTree(int root) {
        List<Integer> tree = new ArrayList<>();
        hostDescendants(root, tree);
        for (int pid : tree) {
            try {
                new ProcessBuilder("kill", "-KILL", Integer.toString(pid)).start().waitFor();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (tree.stream().anyMatch(TestRun::alive) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
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
