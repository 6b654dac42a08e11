package dev.cryo.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Programs;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TwoHosts;

/**
 * Lazy restore benchmark (seed 001): pd_dirty with N MiB (one process, its memory all written), dumped, then
 * restored by {@code ./cryo} commands, as a user runs them (the launcher, its AOT cache), side by side in one run,
 * the sizes in turn within each run, medians of the runs:
 *
 * <ul>
 * <li>{@code plain}: {@code cryo restore -d}; the tree runs, all of its memory in place, when the command returns;</li>
 * <li>{@code lazy}: {@code cryo lazy-pages} on the images and {@code cryo restore -d --lazy-pages}: the tree runs when
 *     the command returns, its memory arrives in the background, all of it once the daemon exits;</li>
 * <li>{@code remote}: post-copy across a veth pair: {@code cryo dump --lazy-pages} serving from one network namespace,
 *     the daemon ({@code --page-server}) in the other, the restore beside the frozen original ({@code --pidns});</li>
 * <li>fault latency, local and remote: the same with the background held back ({@code --prefetch-delay}), while the
 *     restored process reads all its memory (its checksum): every page comes by fault; the daemon's p50 and p99.</li>
 * </ul>
 *
 * Every restored process's checksum of all its memory must equal the dumped one's. "JVM start" is the wall time of
 * {@code cryo --version}, timed in each run just before each size's restores: what a restore command costs beyond it
 * is cryo's own work (the median of each run's difference, so that a drifting load cancels out). Then post-copy after
 * pre-copy: two pre-dumps to page servers across the veth (1% of the pages written before each of them and before
 * the dump), {@code dump --lazy-pages} on top, a lazy restore on the servers' side: the bytes sent lazily against
 * the bytes of the pages written after the last pre-dump.
 *
 * <p>usage: LazyBench [--sizes 64,1024] [--runs 5] [--dir /dev/shm/cryo-bench-lazy] [--only local|remote|precopy]
 */
public final class LazyBench {
    private static final int SIGUSR1 = 10;
    private static final String PORT = "27301";
    private static final String NEVER = "600000";
    private static final Pattern FAULTS = Pattern.compile("latency p50 ([0-9.]+) us, p99 ([0-9.]+) us");
    private static final Pattern FROM_DUMP = Pattern.compile("\\(([0-9]+) from the dump, ([0-9.]+) MiB\\)");

    private final Path cryo = Programs.repoRoot().resolve("cryo");
    private final Path dir;
    private final int runs;

    private LazyBench(Path dir, int runs) {
        this.dir = dir;
        this.runs = runs;
    }

    public static void main(String[] args) throws Exception {
        String only = null;
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--only")) {
                only = args[++i];
            } else {
                rest.add(args[i]);
            }
        }
        BenchRun opts = BenchRun.parse(rest.toArray(String[]::new), Path.of("/dev/shm/cryo-bench-lazy"));
        int[] sizes = rest.contains("--sizes") ? opts.sizes() : new int[] {64, 1024};
        LazyBench b = new LazyBench(opts.dir(), opts.runs());
        Files.createDirectories(b.dir);
        long jvm = b.jvmStart();
        System.out.printf(Locale.ROOT, "lazy restore benchmark: pd_dirty (one process), images on %s, ./cryo commands, median of %d runs;"
                + " JVM start (cryo --version) %.0f ms%n", b.dir, b.runs, jvm / 1e6);
        try (TwoHosts hosts = TwoHosts.create("lzb")) {
            if (only == null || !only.equals("precopy")) {
                b.sizes(hosts, sizes, only, jvm);
            }
            if (only == null || only.equals("precopy")) {
                b.precopy(hosts, sizes[sizes.length - 1]);
            }
        } finally {
            BenchRun.remove(b.dir); // the images of a GiB would stay in memory on /dev/shm
        }
    }

    /** The figures of one way of restoring, over the runs. */
    private static final class Figures {
        final long[] first;
        final long[] resident;
        final double[] p50;
        final double[] p99;
        long remoteBytes;

        Figures(int runs) {
            first = new long[runs];
            resident = new long[runs];
            p50 = new double[runs];
            p99 = new double[runs];
        }
    }

    /** One size's dump and figures. */
    private final class Size {
        final int mib;
        final Path work;
        final Path img;
        final String sum;
        final Figures plain = new Figures(runs);
        final Figures lazy = new Figures(runs);
        final Figures faults = new Figures(runs);
        final Figures far = new Figures(runs);
        final Figures farFaults = new Figures(runs);
        /** {@code cryo --version} timed in each run just before this size's restores: what a JVM start costs then. */
        final long[] jvm = new long[runs];

        Size(int mib) throws Exception {
            this.mib = mib;
            work = Files.createDirectories(dir.resolve("t" + mib));
            img = BenchRun.fresh(dir.resolve("img" + mib));
            try (Target t = Target.start("pd_dirty", work, Target.Stdio.DEV_NULL, Integer.toString(mib), "10")) {
                sum = ask(t.pid(), work);
                run(List.of(cryo.toString(), "dump", "-t", Integer.toString(t.pid()), "-D", img.toString(), "-j"));
                t.awaitExit(30);
            }
        }
    }

    /**
     * Every size, run after run, the sizes taken in turn within each run (not one size's runs after the other's): on a
     * shared machine the load drifts, and a size measured in a quieter minute than another looked cheaper.
     */
    private void sizes(TwoHosts hosts, int[] mibs, String only, long jvm) throws Exception {
        boolean local = only == null || only.equals("local");
        boolean remote = only == null || only.equals("remote");
        List<Size> all = new ArrayList<>();
        for (int mib : mibs) {
            all.add(new Size(mib));
        }
        for (int r = 0; r < runs; r++) {
            for (Size z : all) {
                z.jvm[r] = timeVersion();
                if (local) {
                    plain(z.img, z.work, z.sum, z.plain, r);
                    lazy(null, z.img, z.img, z.work, z.sum, z.lazy, r, "0");
                    lazy(null, z.img, z.img, z.work, z.sum, z.faults, r, NEVER);
                }
                if (remote) {
                    remote(hosts, z.mib, z.far, r, "0");
                    remote(hosts, z.mib, z.farFaults, r, NEVER);
                }
            }
        }
        for (Size z : all) {
            System.out.printf(Locale.ROOT, "%n%d MiB (%d pages)%n", z.mib, (long) z.mib * 256);
            System.out.printf(Locale.ROOT, "  %-30s %14s %16s %14s %12s %12s%n", "", "first instr.", " beyond JVM start", "all resident",
                    "fault p50", "fault p99");
            if (local) {
                row("plain restore", z.plain, z.jvm, false);
                row("lazy, local", z.lazy, z.jvm, false);
                row("lazy, local, faults only", z.faults, z.jvm, true);
            }
            if (remote) {
                row("lazy, remote over veth", z.far, z.jvm, false);
                row("lazy, remote, faults only", z.farFaults, z.jvm, true);
            }
            BenchRun.fresh(z.img);
        }
    }

    /** A row; beyond JVM start is the median over the runs of each run's first instruction less its own JVM start. */
    private static void row(String what, Figures f, long[] jvm, boolean latency) {
        long first = BenchRun.median(f.first);
        long[] beyond = new long[jvm.length];
        for (int i = 0; i < jvm.length; i++) {
            beyond[i] = f.first[i] - jvm[i];
        }
        String res = latency ? "" : String.format(Locale.ROOT, "%9.0f ms", BenchRun.median(f.resident) / 1e6);
        String lat = latency ? String.format(Locale.ROOT, "%9.1f us %9.1f us", median(f.p50), median(f.p99)) : "";
        System.out.printf(Locale.ROOT, "  %-30s %11.0f ms %13.0f ms %14s %s%n", what, first / 1e6, BenchRun.median(beyond) / 1e6, res, lat);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** cryo restore -d: the first instruction and all memory at once. */
    private void plain(Path img, Path work, String sum, Figures f, int r) throws Exception {
        long t0 = System.nanoTime();
        int root = restoredPid(run(List.of(cryo.toString(), "restore", "-D", img.toString(), "-d", "-j", "--pidns")));
        f.first[r] = System.nanoTime() - t0;
        f.resident[r] = f.first[r];
        check(root, work, sum);
        kill(root); // as the lazy ways do: no restored tree outlives its run
    }

    /**
     * A daemon (in {@code netns}, or here) on {@code served} and a lazy restore: the restore command's time, the time
     * until the daemon is done (every page in place), the fault latency it reports, and the checksum.
     */
    private void lazy(TwoHosts hosts, Path served, Path img, Path work, String sum, Figures f, int r, String delay, String... source)
            throws Exception {
        Path socket = dir.resolve("lazy.sock");
        List<String> cmd = new ArrayList<>(hosts == null ? List.of() : hosts.inClient());
        cmd.addAll(List.of(cryo.toString(), "lazy-pages", "-D", served.toString(), "--lazy-addr", socket.toString(),
                "--prefetch-delay", delay, "--display-stats"));
        cmd.addAll(List.of(source));
        Running daemon = Running.start(cmd);
        daemon.awaitLine("lazy-pages listening on ", 60);
        long t0 = System.nanoTime();
        int root = restoredPid(run(List.of(cryo.toString(), "restore", "-D", served.toString(), "-d", "-j", "--pidns", "--lazy-pages",
                "--lazy-addr", socket.toString())));
        f.first[r] = System.nanoTime() - t0;
        if (delay.equals("0")) {
            String out = daemon.awaitEnd(600);
            f.resident[r] = daemon.endedAt - t0;
            check(root, work, sum);
            kill(root);
            remoteBytes(out, f);
        } else {
            check(root, work, sum); // every page by fault
            kill(root);
            String out = daemon.awaitEnd(600);
            Matcher m = FAULTS.matcher(out);
            if (!m.find()) {
                throw new IllegalStateException("the daemon gave no fault latency: " + out);
            }
            f.p50[r] = Double.parseDouble(m.group(1));
            f.p99[r] = Double.parseDouble(m.group(2));
        }
    }

    private static void remoteBytes(String daemonOut, Figures f) {
        Matcher m = FROM_DUMP.matcher(daemonOut);
        if (m.find()) {
            f.remoteBytes = Long.parseLong(m.group(1)) * Page.SIZE;
        }
    }

    /** Post-copy: a fresh pd_dirty dumped with --lazy-pages in the server namespace, restored lazily from the client's. */
    private void remote(TwoHosts hosts, int mib, Figures f, int r, String delay) throws Exception {
        Path work = Files.createDirectories(dir.resolve("r" + mib));
        Path img = BenchRun.fresh(dir.resolve("rimg" + mib));
        Path served = BenchRun.fresh(dir.resolve("rserved" + mib));
        try (Target t = Target.start("pd_dirty", work, Target.Stdio.DEV_NULL, Integer.toString(mib), "10")) {
            String sum = ask(t.pid(), work);
            List<String> dump = new ArrayList<>(hosts.inServer());
            dump.addAll(List.of(cryo.toString(), "dump", "-t", Integer.toString(t.pid()), "-D", img.toString(), "-j", "--lazy-pages",
                    "--address", TwoHosts.SERVER_ADDRESS, "--port", PORT));
            Running source = Running.start(dump);
            source.awaitLine("lazy pages served on ", 120);
            copyImages(img, served);
            lazy(hosts, served, img, work, sum, f, r, delay, "--page-server", "--address", TwoHosts.SERVER_ADDRESS, "--port", PORT);
            source.awaitEnd(120);
            t.awaitExit(30);
        }
    }

    /**
     * Post-copy after pre-copy: pre-dumps to page servers across the veth, pages written between the steps, a lazy
     * dump on top: what goes lazily is what was written after the last pre-dump, and nothing of what the pre-dumps hold.
     */
    private void precopy(TwoHosts hosts, int mib) throws Exception {
        Path work = Files.createDirectories(dir.resolve("pc"));
        Path local = BenchRun.fresh(dir.resolve("pc-local"));
        Path served = BenchRun.fresh(dir.resolve("pc-served"));
        for (String step : List.of("pre1", "pre2", "dump")) {
            Files.createDirectories(local.resolve(step));
            Files.createDirectories(served.resolve(step));
        }
        long written;
        long lazyBytes;
        long dumpLazy;
        try (Target t = Target.start("pd_dirty", work, Target.Stdio.DEV_NULL, Integer.toString(mib), "10")) {
            String pid = Integer.toString(t.pid());
            for (int i = 0; i < 2; i++) {
                String step = i == 0 ? "pre1" : "pre2";
                List<String> server = new ArrayList<>(hosts.inServer());
                server.addAll(List.of(cryo.toString(), "page-server", "-D", served.resolve(step).toString(), "--address",
                        TwoHosts.SERVER_ADDRESS, "--port", PORT));
                if (i == 1) {
                    server.addAll(List.of("--prev-images-dir", "../pre1"));
                }
                Running ps = Running.start(server);
                ps.awaitLine("page server listening on ", 60);
                PdDirty.dirty(t, i + 1);
                List<String> pre = new ArrayList<>(hosts.inClient());
                pre.addAll(List.of(cryo.toString(), "pre-dump", "-t", pid, "-D", local.resolve(step).toString(), "--page-server",
                        "--address", TwoHosts.SERVER_ADDRESS, "--port", PORT));
                if (i == 1) {
                    pre.addAll(List.of("--prev-images-dir", "../pre1"));
                }
                run(pre);
                ps.awaitEnd(60);
            }
            PdDirty.dirty(t, 3);
            written = generationPages((long) mib * 256, 3) * Page.SIZE;
            String sum = ask(t.pid(), work);
            List<String> dump = new ArrayList<>(hosts.inServer());
            dump.addAll(List.of(cryo.toString(), "dump", "-t", pid, "-D", local.resolve("dump").toString(), "-j", "--lazy-pages",
                    "--address", TwoHosts.SERVER_ADDRESS, "--port", PORT, "--prev-images-dir", "../pre2", "--track-mem", "--display-stats"));
            Running source = Running.start(dump);
            source.awaitLine("lazy pages served on ", 120);
            Path dest = served.resolve("dump");
            copyImages(local.resolve("dump"), dest);
            Files.createSymbolicLink(dest.resolve("parent"), Path.of("../pre2")); // as a copy that keeps links has it
            Figures f = new Figures(1);
            lazy(hosts, dest, dest, work, sum, f, 0, "0", "--page-server", "--address", TwoHosts.SERVER_ADDRESS, "--port", PORT);
            lazyBytes = f.remoteBytes;
            String out = source.awaitEnd(120);
            Matcher m = Pattern.compile("pages lazy:\\s+([0-9]+)").matcher(out);
            dumpLazy = m.find() ? Long.parseLong(m.group(1)) * Page.SIZE : -1;
            t.awaitExit(30);
        }
        System.out.printf(Locale.ROOT, "%npost-copy after pre-copy: %d MiB, two pre-dumps to page servers across the veth, 1%% of the pages"
                + " written before each step, then dump --lazy-pages on top%n", mib);
        System.out.printf(Locale.ROOT, "  pages written after the last pre-dump: %8.2f MiB (%d pages)%n", written / 1048576.0, written / Page.SIZE);
        System.out.printf(Locale.ROOT, "  left lazy by the dump:                 %8.2f MiB%n", dumpLazy / 1048576.0);
        System.out.printf(Locale.ROOT, "  sent lazily (fetched by the daemon):   %8.2f MiB%n", lazyBytes / 1048576.0);
        System.out.printf(Locale.ROOT, "  the restored process's checksum equals the dumped one's (checked, or the run fails)%n");
    }

    /** The pages pd_dirty (PERMILLE 10: every 100th page, from page generation % 100 on) writes in generation {@code gen}. */
    private static long generationPages(long pages, long gen) {
        long first = gen % 100;
        return first < pages ? (pages - 1 - first) / 100 + 1 : 0;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** The median wall time of {@code cryo --version}: a JVM that starts, loads the command line and exits. */
    private long jvmStart() throws Exception {
        long[] t = new long[runs];
        for (int i = 0; i < runs; i++) {
            t[i] = timeVersion();
        }
        return BenchRun.median(t);
    }

    private long timeVersion() throws Exception {
        long t0 = System.nanoTime();
        run(List.of(cryo.toString(), "--version"));
        return System.nanoTime() - t0;
    }

    /** pd_dirty's "GENERATION CHECKSUM" of all its memory, asked with SIGUSR1 (at host pid {@code pid}). */
    private static String ask(int pid, Path work) throws Exception {
        Path check = work.resolve("check");
        Files.deleteIfExists(check);
        Signals.kill(pid, SIGUSR1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!Files.exists(check)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("pd_dirty (pid " + pid + ") gave no checksum within 300 s");
            }
            Thread.sleep(2);
        }
        return Files.readString(check).strip();
    }

    private static void check(int root, Path work, String sum) throws Exception {
        String now = ask(root, work);
        if (!now.equals(sum)) {
            throw new IllegalStateException("the restored process's checksum is " + now + ", the dumped one's " + sum);
        }
    }

    private static void kill(int pid) {
        try {
            Signals.kill(pid, Kernel.SIGKILL);
            while (Files.exists(Path.of("/proc/" + pid)) && !Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") Z")) {
                Thread.sleep(1);
            }
        } catch (RuntimeException | IOException | InterruptedException gone) {
            // ended already
        }
    }

    private static int restoredPid(String out) {
        Matcher m = Pattern.compile("restored pid ([0-9]+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("the restore said no pid: " + out);
        }
        return Integer.parseInt(m.group(1));
    }

    private static void copyImages(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".img")).toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    /** Runs a command to its end; its output, or a failure with it. */
    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.strip());
        }
        return out;
    }

    /** A command that runs beside the bench (a daemon, a dump serving its memory, a page server), its output read as it comes. */
    private static final class Running {
        private final Process process;
        private final List<String> cmd;
        private final StringBuilder out = new StringBuilder();
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        long endedAt;

        private Running(Process process, List<String> cmd) {
            this.process = process;
            this.cmd = cmd;
            Thread reader = new Thread(this::read, "bench-output");
            reader.setDaemon(true);
            reader.start();
        }

        static Running start(List<String> cmd) throws IOException {
            return new Running(new ProcessBuilder(cmd).redirectErrorStream(true).start(), cmd);
        }

        private void read() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    synchronized (out) {
                        out.append(line).append('\n');
                        out.notifyAll();
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                endedAt = System.nanoTime();
                done.complete(null);
                synchronized (out) {
                    out.notifyAll();
                }
            }
        }

        void awaitLine(String prefix, long seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            synchronized (out) {
                while (!out.toString().lines().anyMatch(l -> l.startsWith(prefix))) {
                    if (done.isDone() || System.nanoTime() > deadline) {
                        process.destroyForcibly();
                        throw new IllegalStateException(String.join(" ", cmd) + " did not say '" + prefix + "': " + out);
                    }
                    out.wait(100);
                }
            }
        }

        /** Waits for it to end well; its output. */
        String awaitEnd(long seconds) throws Exception {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " still runs after " + seconds + " s");
            }
            done.get(10, TimeUnit.SECONDS);
            if (process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
            }
            return out.toString();
        }
    }
}
