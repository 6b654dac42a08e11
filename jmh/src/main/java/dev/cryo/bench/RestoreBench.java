package dev.cryo.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.RestoreStats;
import dev.cryo.restore.Restorer;
import dev.cryo.syscalls.IoVec;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.ProcessVm;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/**
 * Restore benchmark: cryo's restore from tmpfs of two targets of N MiB, a single process (rst_sink fill: N
 * MiB of patterned memory) and a tree (rst_tree: N MiB, one thread, a child that changed 1 MiB after fork
 * and a grandchild; its images hold the pages of all three), beside a raw {@code process_vm_writev} of
 * the same bytes (every pages image) into a fresh process that mapped as much untouched anonymous memory
 * (rst_sink), in the same run, runs interleaved, medians printed. The restored tree answers its own
 * memory check after the last run.
 *
 * <p>usage: RestoreBench [--sizes 256,1024] [--runs 5] [--dir /dev/shm/cryo-bench-restore]
 */
public final class RestoreBench {
    public static void main(String[] args) throws Exception {
        BenchRun opts = BenchRun.parse(args, Path.of("/dev/shm/cryo-bench-restore"));
        int[] sizes = opts.sizes();
        int runs = opts.runs();
        Path dir = opts.dir();
        System.out.printf("restore benchmark: images on %s, median of %d runs, raw process_vm_writev and cryo interleaved%n", dir, runs);
        System.out.printf("%8s %-8s %12s %12s %12s %8s %12s%n", "size", "target", "bytes", "raw writev", "cryo restore", "ratio", "GB/s cryo");
        for (int mib : sizes) {
            for (String kind : List.of("process", "tree")) {
                bench(dir, mib, kind, runs);
            }
        }
    }

    private static void bench(Path dir, int mib, String kind, int runs) throws Exception {
        Path work = Files.createDirectories(dir.resolve("target-" + kind + "-" + mib));
        Path img = BenchRun.fresh(dir.resolve("img-" + mib));
        List<Integer> pids;
        boolean tree = kind.equals("tree");
        try (Target target = tree ? Target.start("rst_tree", work, Integer.toString(mib), "1")
                : Target.start("rst_sink", work, Integer.toString(mib), "fill")) {
            pids = new java.util.ArrayList<>(List.of(target.pid()));
            if (tree) {
                for (String s : Files.readString(work.resolve("family")).trim().split(" ")) {
                    pids.add(Integer.parseInt(s));
                }
            }
            Dumper.dump(DumpOptions.of(target.pid(), img).withShellJob(!tree), new Cancellation());
            target.awaitExit(30);
        }
        List<Path> pages;
        try (var s = Files.list(img)) {
            pages = s.filter(p -> p.getFileName().toString().startsWith("pages-")).sorted().toList();
        }
        long bytes = 0;
        for (Path p : pages) {
            bytes += Files.size(p);
        }
        long[] raw = new long[runs];
        long[] cryo = new long[runs];
        for (int r = 0; r < runs; r++) {
            raw[r] = rawWrite(dir.resolve("sink"), pages, bytes);
            long t0 = System.nanoTime();
            RestoreStats s = Restorer.restore(RestoreOptions.of(img).withShellJob(true).withDetached(true), new Cancellation());
            cryo[r] = System.nanoTime() - t0;
            if (s.pagesRestored() * 4096 != bytes) {
                throw new IllegalStateException("restored " + s.pagesRestored() + " pages, the images hold " + bytes / 4096);
            }
            if (tree && r == runs - 1) {
                String check = ask(pids.get(0), work.resolve("check"));
                if (!check.equals("PASS")) {
                    throw new IllegalStateException("the restored tree fails its own check: " + check);
                }
            }
            killAll(pids);
        }
        long mRaw = BenchRun.median(raw);
        long mCryo = BenchRun.median(cryo);
        System.out.printf("%5d MiB %-8s %8d MiB %9.1f ms %9.1f ms %7.2fx %12.2f%n", mib, kind, bytes >> 20, mRaw / 1e6,
                mCryo / 1e6, (double) mCryo / mRaw, bytes / (mCryo / 1e9) / 1e9);
        BenchRun.fresh(img);
    }

    /** The baseline: a fresh process with untouched memory, every pages image written into it with process_vm_writev. */
    static long rawWrite(Path dir, List<Path> pages, long bytes) throws Exception {
        try (Target sink = Target.start("rst_sink", dir, Long.toString((bytes >> 20) + 1));
             Arena arena = Arena.ofConfined()) {
            long addr = Long.parseUnsignedLong(Files.readString(dir.resolve("addr")).trim(), 16);
            MemorySegment local = IoVec.allocateArray(arena, 1);
            MemorySegment remote = IoVec.allocateArray(arena, 1);
            long t0 = System.nanoTime();
            long at = addr;
            for (Path p : pages) {
                try (Arena a = Arena.ofConfined(); FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    long size = ch.size();
                    if (size == 0) {
                        continue;
                    }
                    MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, a);
                    long done = 0;
                    while (done < size) {
                        IoVec.set(local, 0, data.asSlice(done).address(), size - done);
                        IoVec.set(remote, 0, at + done, size - done);
                        done += ProcessVm.writev(sink.pid(), local, 1, remote, 1);
                    }
                    at += size;
                }
            }
            return System.nanoTime() - t0;
        }
    }

    static String ask(int pid, Path answer) throws Exception {
        Files.deleteIfExists(answer);
        Signals.kill(pid, Kernel.SIGUSR1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(answer)) {
            if (System.nanoTime() > deadline) {
                return "no answer";
            }
            Thread.sleep(10);
        }
        return Files.readString(answer).trim();
    }

    static void killAll(List<Integer> pids) throws Exception {
        for (int pid : pids) {
            if (Signals.exists(pid)) {
                Signals.kill(pid, Kernel.SIGKILL);
            }
        }
        for (int pid : pids) {
            while (Files.exists(Path.of("/proc/" + pid))) {
                Thread.sleep(5);
            }
        }
    }
}
