package dev.cryo.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.MemdumpMode;
import dev.cryo.pagexfer.PageServer;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.NetNamespace;
import dev.cryo.syscalls.TcpSocket;
import dev.cryo.testkit.PageServerProcess;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TwoHosts;

/**
 * The page-server benchmark (seed 000). Two parts, each with the ways interleaved run by run, medians
 * printed:
 *
 * <ul>
 * <li>tree: a tree of {@code --tree} processes with {@code --kib} KiB of memory each (fanout), dumped with
 * {@code --leave-running} to tmpfs, and through a page server on loopback and across a veth pair (server and
 * dump each in a network namespace of their own), corked (cryo's way) and not (an option of the Java API:
 * the socket as the kernel makes it, Nagle on). cryo's own dump time, in this JVM.</li>
 * <li>big: a target of each of {@code --sizes} MiB (dumpee) dumped by {@code cryo dump} processes: to tmpfs,
 * and through a {@code cryo page-server} process across the veth pair (its directory on tmpfs too). The dump's
 * own total time and the command's wall time; the server's CPU time per GiB and both processes' peak RSS.</li>
 * </ul>
 *
 * <p>With {@code --memdump-modes read,splice} (dump's {@code --memdump-mode}; default {@code auto} alone) every way
 * is run once per mode, all interleaved, each compared with the local dump of its own mode and of the first.
 *
 * <p>usage: PageServerBench [--runs 5] [--tree 128] [--kib 1024] [--sizes 256,1024] [--dir /dev/shm/cryo-bench-ps]
 * [--only tree|big] [--memdump-modes auto,read,splice]
 */
public final class PageServerBench {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Pattern TOTAL = Pattern.compile("total time:\\s+([0-9.]+) ms");
    private static final Pattern MAX_RSS = Pattern.compile("^maxrss ([0-9]+) cpu ([0-9.]+) ([0-9.]+)$", Pattern.MULTILINE);
    private static final Pattern SERVER_CPU = Pattern.compile("cpu time:\\s+([0-9.]+) s \\(([0-9.]+) s per GiB\\)");
    private static final Pattern SERVER_RSS = Pattern.compile("peak rss:\\s+([0-9]+) KiB");

    private PageServerBench() {}

    public static void main(String[] args) throws Exception {
        int runs = 5, tree = 128, kib = 1024;
        int[] sizes = {256, 1024};
        Path dir = Path.of("/dev/shm/cryo-bench-ps");
        String only = null;
        List<MemdumpMode> modes = List.of(MemdumpMode.AUTO);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--tree" -> tree = Integer.parseInt(args[++i]);
                case "--kib" -> kib = Integer.parseInt(args[++i]);
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--dir" -> dir = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                case "--memdump-modes" -> modes = Arrays.stream(args[++i].split(","))
                        .map(m -> MemdumpMode.valueOf(m.toUpperCase(java.util.Locale.ROOT))).toList();
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Files.createDirectories(dir);
        try (TwoHosts hosts = TwoHosts.create("bench")) {
            if (only == null || only.equals("tree")) {
                tree(hosts, dir, runs, tree, kib, modes);
            }
            if (only == null || only.equals("big")) {
                big(hosts, dir, runs, sizes, modes);
            }
        } finally {
            BenchRun.remove(dir); // the images of a GiB would stay in memory on /dev/shm
        }
    }

    // ---------------------------------------------------------------- the seed's case: many small processes

    private static void tree(TwoHosts hosts, Path dir, int runs, int nproc, int kib, List<MemdumpMode> modes) throws Exception {
        System.out.printf("tree: %d processes x %d KiB, dump --leave-running, cryo's dump time, median of %d runs (interleaved)%n",
                nproc, kib, runs);
        try (Target target = Target.start("fanout", dir.resolve("fanout"), Integer.toString(nproc), Integer.toString(kib))) {
            Map<String, Callable<Long>> ways = new LinkedHashMap<>();
            Map<String, String> localOf = new LinkedHashMap<>();
            for (MemdumpMode mode : modes) {
                String tag = modes.size() > 1 ? " [" + mode.name().toLowerCase(java.util.Locale.ROOT) + "]" : "";
                String local = "local tmpfs" + tag;
                ways.put(local, () -> localDump(target.pid(), BenchRun.fresh(dir.resolve("local")), mode));
                // not corked only in the first mode: it shows the stall, whatever the mode
                for (boolean cork : mode == modes.getFirst() ? new boolean[] {true, false} : new boolean[] {true}) {
                    String c = cork ? "corked" : "not corked";
                    ways.put("loopback, " + c + tag, () -> served(target.pid(), dir, null, null, LOOPBACK, cork, mode));
                    ways.put("veth, " + c + tag, () -> served(target.pid(), dir, hosts.serverNamespace(), hosts.clientNamespace(),
                            TcpSocket.address(TwoHosts.SERVER_ADDRESS), cork, mode));
                }
                ways.keySet().forEach(k -> localOf.putIfAbsent(k, local));
            }
            // one of each first, untimed: the code is compiled, the first dump is not a cold start
            for (Callable<Long> w : ways.values()) {
                w.call();
            }
            Map<String, long[]> times = new LinkedHashMap<>();
            ways.keySet().forEach(k -> times.put(k, new long[runs]));
            for (int r = 0; r < runs; r++) {
                for (Map.Entry<String, Callable<Long>> w : ways.entrySet()) {
                    times.get(w.getKey())[r] = w.getValue().call();
                }
            }
            long first = BenchRun.median(times.get(localOf.values().iterator().next()));
            System.out.printf("%-33s %12s %10s %14s%n", "", "dump", "vs local", "vs 1st local");
            for (Map.Entry<String, long[]> t : times.entrySet()) {
                long m = BenchRun.median(t.getValue());
                long local = BenchRun.median(times.get(localOf.get(t.getKey())));
                System.out.printf("%-33s %9.1f ms %9.2fx %13.2fx   runs %s%n", t.getKey(), m / 1e6, (double) m / local,
                        (double) m / first, ms(t.getValue()));
            }
            String check = target.check();
            System.out.println("fanout's own check after the dumps: " + check);
        }
    }

    private static long localDump(int pid, Path images, MemdumpMode mode) throws Exception {
        long t0 = System.nanoTime();
        Dumper.dump(options(pid, images, mode), new Cancellation());
        return System.nanoTime() - t0;
    }

    private static DumpOptions options(int pid, Path images, MemdumpMode mode) {
        return DumpOptions.of(pid, images).withLeaveRunning(true).withShellJob(true).withMemdumpMode(mode);
    }

    /**
     * A dump whose pages go to a page server on a thread of this JVM; the server thread in {@code serverNs} and
     * the dump in {@code clientNs} when given. Returns the dump's time.
     */
    private static long served(int pid, Path dir, String serverNs, String clientNs, InetAddress address, boolean cork,
                               MemdumpMode mode) throws Exception {
        Path images = BenchRun.fresh(dir.resolve("client"));
        Path received = BenchRun.fresh(dir.resolve("server"));
        CompletableFuture<Integer> port = new CompletableFuture<>();
        CompletableFuture<PageServer.Session> session = new CompletableFuture<>();
        Thread server = new Thread(() -> {
            try {
                if (serverNs != null) {
                    NetNamespace.enter(serverNs);
                }
                try (PageServer s = PageServer.listen(new PageServer.Options(received, address, 0, null, null))) {
                    port.complete(s.port());
                    session.complete(s.serve());
                }
            } catch (Throwable e) {
                port.completeExceptionally(e);
                session.completeExceptionally(e);
            }
        }, "bench-page-server");
        server.start();
        int p = port.get(30, TimeUnit.SECONDS);
        long[] took = new long[1];
        Exception[] failed = new Exception[1];
        Thread dump = new Thread(() -> {
            try {
                if (clientNs != null) {
                    NetNamespace.enter(clientNs);
                }
                long t0 = System.nanoTime();
                Dumper.dump(options(pid, images, mode).withPageServer(new PageServerEndpoint(address, p, null).withCork(cork)), new Cancellation());
                took[0] = System.nanoTime() - t0;
            } catch (Exception e) {
                failed[0] = e;
            }
        }, "bench-dump");
        dump.start();
        dump.join();
        if (failed[0] != null) {
            throw failed[0];
        }
        session.get(30, TimeUnit.SECONDS);
        return took[0];
    }

    // ---------------------------------------------------------------- a big target, cryo processes on both sides

    private static void big(TwoHosts hosts, Path dir, int runs, int[] sizes, List<MemdumpMode> modes) throws Exception {
        System.out.printf("%nbig: cryo dump processes (./cryo's JVM options, C1), --leave-running, to tmpfs and through cryo page-server across veth (server dir on tmpfs),"
                + " median of %d runs (interleaved)%n", runs);
        System.out.printf("%8s %-15s %12s %12s %9s %12s %12s %14s %12s %16s%n", "size", "way", "dump total", "command", "vs local",
                "vs 1st local", "dump CPU", "dump peak RSS", "server RSS", "server CPU/GiB");
        int ways = 2 * modes.size(); // per mode: tmpfs, then veth
        for (int mib : sizes) {
            try (Target target = Target.start("dumpee", dir.resolve("dumpee-" + mib), Integer.toString(mib), "1")) {
                long[][] total = new long[ways][runs];
                long[][] wall = new long[ways][runs];
                long[][] rss = new long[ways][runs];
                double[][] dumpCpu = new double[ways][runs];
                long[][] serverRss = new long[ways][runs];
                double[][] cpuPerGiB = new double[ways][runs];
                for (int r = -1; r < runs; r++) { // run -1: untimed, warms the page cache of the JDK's files
                    for (int m = 0; m < modes.size(); m++) {
                        String mode = modes.get(m).name().toLowerCase(java.util.Locale.ROOT);
                        Path local = BenchRun.fresh(dir.resolve("local"));
                        Outcome l = command(List.of(), target.pid(), local, "--memdump-mode", mode);
                        Path client = BenchRun.fresh(dir.resolve("client"));
                        Path received = BenchRun.fresh(dir.resolve("server"));
                        Outcome v;
                        String served;
                        try (PageServerProcess server = PageServerProcess.start(hosts.inServer(), received, TwoHosts.SERVER_ADDRESS, 27000,
                                "--display-stats")) {
                            int port = server.port();
                            v = command(hosts.inClient(), target.pid(), client, "--page-server", "--address", TwoHosts.SERVER_ADDRESS,
                                    "--port", Integer.toString(port), "--memdump-mode", mode);
                            String ended = server.awaitEnd(60);
                            if (ended != null) {
                                throw new IllegalStateException(ended);
                            }
                            served = server.output();
                        }
                        if (r < 0) {
                            continue;
                        }
                        Outcome[] o = {l, v};
                        for (int w = 0; w < 2; w++) {
                            int k = 2 * m + w;
                            total[k][r] = o[w].totalNanos;
                            wall[k][r] = o[w].wallNanos;
                            rss[k][r] = o[w].maxRssKib;
                            dumpCpu[k][r] = o[w].cpuSeconds;
                        }
                        Matcher cpu = SERVER_CPU.matcher(served);
                        Matcher srss = SERVER_RSS.matcher(served);
                        if (!cpu.find() || !srss.find()) {
                            throw new IllegalStateException("the page server did not print its figures: " + served);
                        }
                        cpuPerGiB[2 * m + 1][r] = Double.parseDouble(cpu.group(2));
                        serverRss[2 * m + 1][r] = Long.parseLong(srss.group(1));
                    }
                }
                long firstLocal = BenchRun.median(total[0]);
                for (int k = 0; k < ways; k++) {
                    String name = (k % 2 == 0 ? "tmpfs" : "veth")
                            + (modes.size() > 1 ? " " + modes.get(k / 2).name().toLowerCase(java.util.Locale.ROOT) : "");
                    long t = BenchRun.median(total[k]);
                    long localTotal = BenchRun.median(total[k - k % 2]);
                    boolean veth = k % 2 == 1;
                    System.out.printf("%5d MiB %-15s %9.1f ms %9.1f ms %8.2fx %11.2fx %10.2f s %10d KiB %12s %16s   totals %s%n", mib, name,
                            t / 1e6, BenchRun.median(wall[k]) / 1e6, (double) t / localTotal, (double) t / firstLocal, medianOf(dumpCpu[k]),
                            BenchRun.median(rss[k]), veth ? BenchRun.median(serverRss[k]) + " KiB" : "",
                            veth ? String.format("%.2f s", medianOf(cpuPerGiB[k])) : "", ms(total[k]));
                }
                String check = target.check();
                if (!check.equals("PASS")) {
                    throw new IllegalStateException("dumpee's own check after the dumps: " + check);
                }
            }
        }
    }

    /**
     * The JVM options ./cryo gives a dump (its jvm_flags, and C1 alone for a command): the dumps here run as users'
     * do, and neither way pays C2's compiles on the two cores the transfer needs.
     */
    private static final List<String> DUMP_JVM = List.of("-XX:-UsePerfData", "-XX:+UseSerialGC", "-Xms8m", "-Xmn4m",
            "-XX:TieredStopAtLevel=1");

    /** One cryo dump process: its own total time, the command's wall time, its peak RSS and CPU seconds (JVM start included). */
    record Outcome(long totalNanos, long wallNanos, long maxRssKib, double cpuSeconds) {}

    /** {@code prefix... /usr/bin/time java ... cryo dump -t PID -D images --leave-running -j --display-stats options...}. */
    private static Outcome command(List<String> prefix, int pid, Path images, String... options) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of("/usr/bin/time", "-f", "maxrss %M cpu %U %S", java, "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow"));
        cmd.addAll(DUMP_JVM);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.cryo.cli.Main",
                "dump", "-t", Integer.toString(pid), "-D", images.toString(), "--leave-running", "-j", "--display-stats"));
        cmd.addAll(List.of(options));
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("cryo dump failed: " + out);
        }
        long wall = System.nanoTime() - t0;
        Matcher total = TOTAL.matcher(out);
        Matcher rss = MAX_RSS.matcher(out);
        if (!total.find() || !rss.find()) {
            throw new IllegalStateException("no total time or maxrss in: " + out);
        }
        double cpu = Double.parseDouble(rss.group(2)) + Double.parseDouble(rss.group(3));
        return new Outcome((long) (Double.parseDouble(total.group(1)) * 1e6), wall, Long.parseLong(rss.group(1)), cpu);
    }

    private static double medianOf(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static String ms(long[] v) {
        StringBuilder b = new StringBuilder();
        for (long x : v) {
            b.append(b.isEmpty() ? "" : " ").append(String.format("%.0f", x / 1e6));
        }
        return b.toString();
    }
}
