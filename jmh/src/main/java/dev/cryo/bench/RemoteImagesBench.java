package dev.cryo.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.cryo.testkit.ImageDaemonProcess;
import dev.cryo.testkit.Programs;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TwoHosts;

/**
 * Images over sockets (seed 002), measured. Two hosts are two network namespaces joined by a veth pair
 * ({@link TwoHosts}); every cryo is a process of its own, as a user runs it (no AOT cache: the class path).
 *
 * <ul>
 * <li>migrate: a tree of {@code --mib} MiB (dumpee: one process of that much patterned memory and a child that
 * shares it copy-on-write), moved from the client namespace to the host's in two ways, interleaved run by run:
 * <b>local + tar</b>, {@code cryo dump} to tmpfs, the directory copied across the veth with tar over a TCP
 * socket (python3 at both ends, 1 MiB reads), {@code cryo restore -d} from tmpfs; and <b>proxy + cache</b>,
 * {@code cryo dump --remote} through a {@code cryo image-proxy} (client namespace) to a {@code cryo image-cache}
 * (server namespace), then {@code cryo restore -d --remote}. The time is from the dump's start to the restore's
 * word that the tree runs. The daemons are started before (as a service would be), and report their CPU time
 * and peak memory ({@code --display-stats}).</li>
 * <li>memory: the image cache's peak memory for one full dump of pd_dirty ({@code --mib} MiB), and for a chain of
 * three steps (pre-dump, pre-dump, dump) with {@code --dirty} per mille of the pages written between steps, and
 * with {@code --churn} per mille (500; 0 skips it): what deduplication keeps it to.</li>
 * </ul>
 *
 * <p>usage: RemoteImagesBench [--runs 3] [--mib 1024] [--dirty 10] [--churn 500] [--dir /dev/shm/cryo-bench-ri] [--only migrate|memory]
 */
public final class RemoteImagesBench {
    private static final int CACHE_PORT = 27100;
    private static final int COPY_PORT = 27200;
    private static final Pattern RESTORED = Pattern.compile("restored pid (\\d+)");
    private static final Pattern CPU = Pattern.compile("cpu time:\\s+([0-9.]+) s \\(([0-9.]+) s per GiB");
    private static final Pattern RSS = Pattern.compile("peak rss:\\s+([0-9]+) KiB");
    private static final Pattern IN_FILES = Pattern.compile("peak in files:\\s+([0-9]+) KiB");
    private static final Pattern RECEIVED = Pattern.compile("received:\\s+\\d+ snapshots, \\d+ images, ([0-9.]+) MiB");
    private static final Pattern HELD = Pattern.compile("held:\\s+([0-9.]+) MiB \\(([0-9.]+) MiB released");
    /** The cryo launcher's JVM options (./cryo's jvm_flags): every cryo here runs with them, as users' do. */
    private static final List<String> LAUNCHER_JVM = List.of("-XX:-UsePerfData", "-XX:+UseSerialGC", "-Xms8m", "-Xmn4m");
    /**
     * Before {@code java}: the daemons run with C1 alone and the launcher's options, as the cryo launcher runs
     * them (each serves one migration). _JAVA_OPTIONS is the one place the JVM reads after its command line.
     */
    private static final List<String> DAEMON_JIT = List.of("env", "_JAVA_OPTIONS=-XX:TieredStopAtLevel=1 " + String.join(" ", LAUNCHER_JVM));

    private RemoteImagesBench() {}

    public static void main(String[] args) throws Exception {
        int runs = 3, mib = 1024, dirty = 10, churn = 500;
        Path dir = Path.of("/dev/shm/cryo-bench-ri");
        String only = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--mib" -> mib = Integer.parseInt(args[++i]);
                case "--dirty" -> dirty = Integer.parseInt(args[++i]);
                case "--churn" -> churn = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        boolean made = !Files.exists(dir);
        Files.createDirectories(dir);
        try (TwoHosts hosts = TwoHosts.create("rib")) {
            if (only == null || only.equals("migrate")) {
                migrate(hosts, dir, runs, mib);
            }
            if (only == null || only.equals("memory")) {
                memory(hosts, dir, runs, mib, dirty, churn);
            }
        } finally {
            empty(dir);
            if (made) {
                Files.delete(dir);
            }
        }
    }

    /** {@code dir}, emptied (subdirectories too) or created. */
    private static Path empty(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var all = Files.walk(dir)) {
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    if (!p.equals(dir)) {
                        Files.delete(p);
                    }
                }
            }
        }
        return Files.createDirectories(dir);
    }

    // ------------------------------------------------------------------------------------------------ migrate

    /** One migration: its parts in ms, and for proxy + cache what the daemons said. */
    private record Migration(long dumpMs, long copyMs, long restoreMs, double proxyCpuPerGib, double cacheCpuPerGib, long proxyRssKib,
                             long cacheMemoryKib, double imagesMib) {
        long totalMs() {
            return dumpMs + copyMs + restoreMs;
        }
    }

    private static void migrate(TwoHosts hosts, Path dir, int runs, int mib) throws Exception {
        System.out.printf(Locale.ROOT, "migrate: dumpee of %d MiB (and a child sharing it), from the client namespace to the host,"
                + " time from the dump's start to the tree running; run 0 untimed, then %d runs interleaved%n", mib, runs);
        List<Migration> local = new ArrayList<>();
        List<Migration> remote = new ArrayList<>();
        for (int r = 0; r <= runs; r++) {
            boolean remoteFirst = r % 2 == 1;
            for (int k = 0; k < 2; k++) {
                boolean isRemote = (k == 0) == remoteFirst;
                Migration m = isRemote ? viaDaemons(hosts, dir, mib) : viaTar(hosts, dir, mib);
                if (isRemote) {
                    System.out.printf(Locale.ROOT, "  run %d proxy + cache total %6d ms (dump %5d, restore ends %5d ms after it); %.0f MiB of images;"
                                    + " CPU per GiB proxy %.2f s, cache %.2f s; peak RSS proxy %d MiB, cache peak memory %d MiB%n", r, m.totalMs(), m.dumpMs(),
                            m.restoreMs(), m.imagesMib(), m.proxyCpuPerGib(), m.cacheCpuPerGib(), m.proxyRssKib() / 1024, m.cacheMemoryKib() / 1024);
                } else {
                    System.out.printf(Locale.ROOT, "  run %d local + tar   total %6d ms (dump %5d, copy %5d, restore %5d)%n", r, m.totalMs(),
                            m.dumpMs(), m.copyMs(), m.restoreMs());
                }
                if (r > 0) {
                    (isRemote ? remote : local).add(m);
                }
            }
        }
        long l = median(local.stream().mapToLong(Migration::totalMs).toArray());
        long m = median(remote.stream().mapToLong(Migration::totalMs).toArray());
        System.out.printf(Locale.ROOT, "median total: local + tar %d ms, proxy + cache %d ms: %.2fx%n", l, m, (double) m / l);
        System.out.printf(Locale.ROOT, "median parts: local + tar dump %d, copy %d, restore %d ms; proxy + cache dump %d, restore ends %d ms after it%n",
                median(local.stream().mapToLong(Migration::dumpMs).toArray()), median(local.stream().mapToLong(Migration::copyMs).toArray()),
                median(local.stream().mapToLong(Migration::restoreMs).toArray()), median(remote.stream().mapToLong(Migration::dumpMs).toArray()),
                median(remote.stream().mapToLong(Migration::restoreMs).toArray()));
        double[] cpu = remote.stream().mapToDouble(Migration::proxyCpuPerGib).sorted().toArray();
        double[] cacheCpu = remote.stream().mapToDouble(Migration::cacheCpuPerGib).sorted().toArray();
        System.out.printf(Locale.ROOT, "CPU per GiB of images: proxy %.2f s (median; %.2f-%.2f), cache %.2f s (median; %.2f-%.2f)%n",
                cpu[cpu.length / 2], cpu[0], cpu[cpu.length - 1], cacheCpu[cacheCpu.length / 2], cacheCpu[0], cacheCpu[cacheCpu.length - 1]);
        System.out.printf(Locale.ROOT, "peak memory (medians): proxy %d MiB (RSS), cache %d MiB (RSS and memfds), for a tree of %d MiB%n",
                median(remote.stream().mapToLong(Migration::proxyRssKib).toArray()) / 1024,
                median(remote.stream().mapToLong(Migration::cacheMemoryKib).toArray()) / 1024, mib);
    }

    private static Migration viaTar(TwoHosts hosts, Path dir, int mib) throws Exception {
        Path src = empty(dir.resolve("src"));
        Path dst = empty(dir.resolve("dst"));
        try (Target t = Target.start("dumpee", dir.resolve("t"), Integer.toString(mib), "1")) {
            long t0 = System.nanoTime();
            cryo(hosts.inClient(), "dump", "-t", Integer.toString(t.pid()), "-D", src.toString(), "-j");
            long t1 = System.nanoTime();
            copy(hosts, src, dst);
            long t2 = System.nanoTime();
            Restore r = restore(dir, "-D", dst.toString(), "-d", "-j", "--pidns");
            int root = r.root();
            long t3 = System.nanoTime();
            finish(root);
            return new Migration(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), 0, 0, 0, 0, 0);
        } finally {
            empty(src);
            empty(dst);
        }
    }

    /**
     * The restore starts with the dump, as it can on a destination: it waits in the cache for each image it
     * opens. Into a new pid namespace (in both ways): on one host the original's pids are taken until the dump
     * has killed it, which on another host they would not be.
     */
    private static Migration viaDaemons(TwoHosts hosts, Path dir, int mib) throws Exception {
        Path cacheSock = dir.resolve("cache.sock");
        Path proxySock = dir.resolve("proxy.sock");
        try (ImageDaemonProcess cache = started(ImageDaemonProcess.cache(hosts.inServer(DAEMON_JIT.toArray(String[]::new)), TwoHosts.SERVER_ADDRESS,
                CACHE_PORT, cacheSock, dir.resolve("cache.out"), "--display-stats"));
             ImageDaemonProcess proxy = started(ImageDaemonProcess.proxy(hosts.inClient(DAEMON_JIT.toArray(String[]::new)), TwoHosts.SERVER_ADDRESS,
                     CACHE_PORT, proxySock, dir.resolve("proxy.out"), "--display-stats"))) {
            try (Target t = Target.start("dumpee", dir.resolve("t"), Integer.toString(mib), "1")) {
                long t0 = System.nanoTime();
                java.util.concurrent.CompletableFuture<Long> dumped = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        cryo(hosts.inClient(), "dump", "-t", Integer.toString(t.pid()), "-D", "/bench/final", "-j", "--remote",
                                "--local-socket", proxySock.toString());
                        return System.nanoTime();
                    } catch (Exception e) {
                        throw new IllegalStateException(e.getMessage(), e);
                    }
                }, r -> Thread.ofPlatform().start(r));
                Restore r = restore(dir, "-D", "/bench/final", "-d", "-j", "--pidns", "--remote", "--local-socket", cacheSock.toString());
                long t2 = System.nanoTime();
                long t1 = dumped.get(120, TimeUnit.SECONDS);
                finish(r.root());
                ended(proxy.awaitEnd(60));
                ended(cache.awaitEnd(60));
                String p = proxy.output();
                String c = cache.output();
                long end = Math.max(t1, t2);
                return new Migration(ms(t1 - t0), 0, ms(end - t1), Double.parseDouble(find(CPU, p, 2)), Double.parseDouble(find(CPU, c, 2)),
                        Long.parseLong(find(RSS, p, 1)), cacheMemoryKib(c), Double.parseDouble(find(RECEIVED, c, 1)));
            }
        }
    }

    /** The daemon once it listens (the cache) or is connected (the proxy). */
    private static ImageDaemonProcess started(ImageDaemonProcess d) {
        try {
            d.ready();
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    private static void ended(String how) {
        if (how != null) {
            throw new IllegalStateException(how);
        }
    }

    /** tar of {@code src} over a TCP socket across the veth (python3 at both ends), untarred into {@code dst}. */
    private static void copy(TwoHosts hosts, Path src, Path dst) throws Exception {
        String recv = "import socket,shutil,sys\n"
                + "s=socket.create_server(('" + TwoHosts.SERVER_ADDRESS + "'," + COPY_PORT + "))\n"
                + "print('ready',flush=True,file=sys.stderr)\n"
                + "c,_=s.accept()\n"
                + "shutil.copyfileobj(c.makefile('rb'),sys.stdout.buffer,1<<20)\n";
        String send = "import socket,sys,time\n"
                + "for i in range(100):\n"
                + "    try:\n"
                + "        s=socket.create_connection(('" + TwoHosts.SERVER_ADDRESS + "'," + COPY_PORT + "));break\n"
                + "    except OSError:\n"
                + "        time.sleep(0.02)\n"
                + "i=sys.stdin.buffer\n"
                + "while True:\n"
                + "    b=i.read(1<<20)\n"
                + "    if not b: break\n"
                + "    s.sendall(b)\n"
                + "s.close()\n";
        Process receiver = new ProcessBuilder(hosts.inServer("sh", "-c", "/usr/bin/python3 -c \"$0\" | tar -C \"$1\" -xf -", recv, dst.toString()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        new BufferedReader(new InputStreamReader(receiver.getErrorStream(), StandardCharsets.UTF_8)).readLine(); // "ready"
        Process sender = new ProcessBuilder(hosts.inClient("sh", "-c", "tar -C \"$1\" -cf - . | /usr/bin/python3 -c \"$0\"", send, src.toString()))
                .redirectErrorStream(true).start();
        String said = new String(sender.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (sender.waitFor() != 0 || !receiver.waitFor(60, TimeUnit.SECONDS) || receiver.exitValue() != 0) {
            throw new IllegalStateException("tar over the socket failed: " + said);
        }
    }

    /** A cryo command as its own process (its network namespace given by {@code prefix}); fails with what it said. */
    private static String cryo(List<String> prefix, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(java());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("cryo " + String.join(" ", args) + " failed: " + out);
        }
        return out;
    }

    private static List<String> java() {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        cmd.addAll(LAUNCHER_JVM);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.cryo.cli.Main"));
        return cmd;
    }

    private record Restore(int root) {}

    /**
     * {@code cryo restore ARGS} under the nanny (PID 1 here reaps no orphans: the restored tree is left to it);
     * returns the restored root's pid once cryo says it runs.
     */
    private static Restore restore(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Programs.build("nanny").toString()));
        cmd.addAll(java());
        cmd.add("restore");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder said = new StringBuilder();
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            Matcher m = RESTORED.matcher(line);
            if (m.find()) {
                return new Restore(Integer.parseInt(m.group(1)));
            }
            said.append(line).append('\n');
        }
        throw new IllegalStateException("cryo restore " + String.join(" ", args) + " failed: " + said.toString().strip());
    }

    /** The restored tree goes, with the init of its pid namespace (which takes it along). */
    private static void finish(int root) {
        dev.cryo.testkit.RestoredTree.kill(root);
    }

    // ------------------------------------------------------------------------------------------------- memory

    private static void memory(TwoHosts hosts, Path dir, int runs, int mib, int dirty, int churn) throws Exception {
        System.out.printf(Locale.ROOT, "%nmemory: the image cache's peak memory (RSS and memfds), pd_dirty of %d MiB, the chain's steps through proxy and cache;"
                + " %d runs, interleaved%n", mib, runs);
        List<Long> full = new ArrayList<>();
        List<Long> chain = new ArrayList<>();
        List<Long> churned = new ArrayList<>();
        boolean churnFailed = churn <= 0;
        for (int r = 0; r < runs; r++) {
            full.add(chain(hosts, dir, mib, 0, 1));
            chain.add(chain(hosts, dir, mib, dirty, 3));
            if (!churnFailed) {
                // a chain that writes much between steps shows what deduplication releases; if it fails, it is said
                // once and not tried again (a failure waits out cryo's 60 s timeout)
                try {
                    churned.add(chain(hosts, dir, mib, churn, 3));
                } catch (IllegalStateException e) {
                    System.out.printf(Locale.ROOT, "  3 steps, %.1f%% written between steps: FAILED: %s%n", churn / 10.0,
                            e.getMessage().lines().findFirst().orElse(""));
                    churnFailed = true;
                }
            }
        }
        long f = median(full.stream().mapToLong(Long::longValue).toArray());
        long c = median(chain.stream().mapToLong(Long::longValue).toArray());
        System.out.printf(Locale.ROOT, "cache peak memory (medians): one full dump %d MiB; three steps at %.1f%% dirty %d MiB (%.3fx); the tree %d MiB%n",
                f / 1024, dirty / 10.0, c / 1024, (double) c / f, mib);
        if (!churned.isEmpty()) {
            long h = median(churned.stream().mapToLong(Long::longValue).toArray());
            System.out.printf(Locale.ROOT, "cache peak memory (median of %d): three steps at %.1f%% dirty %d MiB (%.3fx of one full dump)%n",
                    churned.size(), churn / 10.0, h / 1024, (double) h / f);
        }
    }

    /** {@code steps} steps (pre-dumps then a dump) of pd_dirty writing {@code permille} of its pages between them; the cache's peak memory (KiB). */
    private static long chain(TwoHosts hosts, Path dir, int mib, int permille, int steps) throws Exception {
        Path cacheSock = dir.resolve("cache.sock");
        Path proxySock = dir.resolve("proxy.sock");
        try (ImageDaemonProcess cache = started(ImageDaemonProcess.cache(hosts.inServer(DAEMON_JIT.toArray(String[]::new)), TwoHosts.SERVER_ADDRESS,
                CACHE_PORT, cacheSock, dir.resolve("cache.out"), "--display-stats"));
             ImageDaemonProcess proxy = started(ImageDaemonProcess.proxy(hosts.inClient(DAEMON_JIT.toArray(String[]::new)), TwoHosts.SERVER_ADDRESS,
                     CACHE_PORT, proxySock, dir.resolve("proxy.out"), "--display-stats"))) {
            try (Target t = Target.start("pd_dirty", dir.resolve("t"), Integer.toString(mib), Integer.toString(Math.max(permille, 1)))) {
                String pid = Integer.toString(t.pid());
                for (int s = 1; s <= steps; s++) {
                    List<String> args = new ArrayList<>(List.of(s == steps ? "dump" : "pre-dump", "-t", pid, "-D", "/bench/step" + s,
                            "--remote", "--local-socket", proxySock.toString()));
                    if (s > 1) {
                        args.addAll(List.of("--prev-images-dir", "../step" + (s - 1)));
                    }
                    if (s == steps) {
                        args.add("-j");
                        if (s > 1) {
                            args.add("--track-mem");
                        }
                    }
                    cryo(hosts.inClient(), args.toArray(String[]::new));
                    if (s < steps) {
                        PdDirty.dirty(t, s);
                    }
                }
                ended(proxy.awaitEnd(60));
                int root = restore(dir, "-D", "/bench/step" + steps, "-d", "-j", "--pidns", "--remote", "--local-socket", cacheSock.toString()).root();
                ended(cache.awaitEnd(60));
                finish(root);
                String c = cache.output();
                long rss = cacheMemoryKib(c);
                System.out.printf(Locale.ROOT, "  %d step%s, %s: received %s MiB, held at the end %s MiB (%s MiB released by deduplication), peak memory %d MiB%n",
                        steps, steps == 1 ? "" : "s", steps == 1 ? "a full dump" : (permille / 10.0) + "% written between steps",
                        find(RECEIVED, c, 1), find(HELD, c, 1), find(HELD, c, 2), rss / 1024);
                return rss;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------- helpers

    /**
     * The cache's peak memory in KiB, from its --display-stats: its peak RSS plus the most it held at once in the
     * memfds of pages images, which it writes without mapping them (so they are not in its RSS). The two peaks
     * need not fall at the same moment: the sum is at most an overestimate.
     */
    private static long cacheMemoryKib(String cacheOutput) {
        return Long.parseLong(find(RSS, cacheOutput, 1)) + Long.parseLong(find(IN_FILES, cacheOutput, 1));
    }

    private static String find(Pattern p, String text, int group) {
        Matcher m = p.matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("no " + p + " in: " + text);
        }
        return m.group(group);
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
