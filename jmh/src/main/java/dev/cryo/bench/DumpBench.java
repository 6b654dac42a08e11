package dev.cryo.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.pagepipe.PageRange;
import dev.cryo.pagepipe.PresentPages;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.IoVec;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.ProcessVm;
import dev.cryo.testkit.Target;

/**
 * Dump benchmark: cryo's dump of a target tree (dumpee: N MiB of patterned memory, one thread, one forked
 * child that shares the memory copy-on-write) to tmpfs, beside a raw copy of the same pages of every process ({@code process_vm_readv} into a 4 MiB buffer, {@code write} to a file) in the same run, runs
 * interleaved, medians printed. Also cryo's frozen time and how much its resident memory grew during the
 * dump (peak RSS, reset before each dump through /proc/self/clear_refs).
 *
 * <p>usage: DumpBench [--sizes 256,1024] [--runs 5] [--dir /dev/shm/cryo-bench]
 */
public final class DumpBench {
    private static final long CHUNK = 4L << 20;
    private static final dev.cryo.dump.DumpListener LISTENER = System.getenv("CRYO_BENCH_DEBUG") == null ? null
            : new dev.cryo.dump.DumpListener() {
                @Override
                public void log(String message) {
                    System.out.println("  " + message);
                }
            };

    public static void main(String[] args) throws Exception {
        BenchRun opts = BenchRun.parse(args, Path.of("/dev/shm/cryo-bench"));
        int[] sizes = opts.sizes();
        int runs = opts.runs();
        Path dir = opts.dir();
        System.out.printf("dump benchmark: images on %s, median of %d runs, raw copy and cryo interleaved%n", dir, runs);
        System.out.printf("%8s %12s %12s %8s %12s %14s %12s%n", "size", "raw copy", "cryo dump", "ratio", "frozen", "cryo RSS grew", "GB/s cryo");
        for (int mib : sizes) {
            Path work = Files.createDirectories(dir.resolve("target-" + mib));
            try (Target target = Target.start("dumpee", work, Integer.toString(mib), "1")) {
                long[] raw = new long[runs];
                long[] cryo = new long[runs];
                long[] frozen = new long[runs];
                long[] rss = new long[runs];
                long bytes = 0;
                for (int r = 0; r < runs; r++) {
                    Path img = BenchRun.fresh(dir.resolve("img"));
                    raw[r] = 0;
                    for (int pid : target.processes()) {
                        raw[r] += rawCopy(pid, img.resolve("raw-" + pid + ".bin"));
                    }
                    img = BenchRun.fresh(dir.resolve("img"));
                    resetPeakRss();
                    long before = rssKib("VmRSS");
                    long t0 = System.nanoTime();
                    DumpStats s = Dumper.dump(DumpOptions.of(target.pid(), img).withLeaveRunning(true).withShellJob(true).withListener(LISTENER), new Cancellation());
                    cryo[r] = System.nanoTime() - t0;
                    rss[r] = rssKib("VmHWM") - before;
                    frozen[r] = s.frozenNanos();
                    if (System.getenv("CRYO_BENCH_DEBUG") != null) System.out.printf("run %d: total %.1f ms memdump %.1f ms%n", r, s.totalNanos() / 1e6, s.memdumpNanos() / 1e6);
                    bytes = s.pagesWritten() * 4096;
                }
                BenchRun.fresh(dir.resolve("img"));
                long mRaw = BenchRun.median(raw);
                long mCryo = BenchRun.median(cryo);
                System.out.printf("%5d MiB %9.1f ms %9.1f ms %7.2fx %9.1f ms %11d KiB %12.2f%n", mib, mRaw / 1e6, mCryo / 1e6,
                        (double) mCryo / mRaw, BenchRun.median(frozen) / 1e6, BenchRun.median(rss), bytes / (mCryo / 1e9) / 1e9);
                String check = target.check();
                if (!check.equals("PASS")) {
                    throw new IllegalStateException("the target was harmed by the dumps: " + check);
                }
            }
        }
    }

    /** The baseline: the same private pages, process_vm_readv into one buffer, write to a file, one thread. */
    static long rawCopy(int pid, Path file) throws Exception {
        List<PageRange> ranges = new ArrayList<>();
        try (PresentPages present = new PresentPages(pid)) {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
                String[] f = line.split("\\s+");
                if (f[1].charAt(3) != 'p' || (f.length > 5 && f[5].startsWith("[v"))) {
                    continue;
                }
                String[] r = f[0].split("-");
                present.privatePages(Long.parseUnsignedLong(r[0], 16), Long.parseUnsignedLong(r[1], 16), ranges);
            }
        }
        long t0 = System.nanoTime();
        try (Mapping buf = Mapping.anonymous(CHUNK); Arena arena = Arena.ofConfined();
             Fd out = Io.openAt(Kernel.AT_FDCWD, file.toString(), Kernel.O_WRONLY | Kernel.O_CREAT | Kernel.O_TRUNC, 0600)) {
            MemorySegment local = IoVec.allocateArray(arena, 1);
            MemorySegment remote = IoVec.allocateArray(arena, 1);
            for (PageRange r : ranges) {
                for (long off = 0; off < r.bytes(); off += CHUNK) {
                    long n = Math.min(CHUNK, r.bytes() - off);
                    IoVec.set(local, 0, buf.segment().address(), n);
                    IoVec.set(remote, 0, r.start() + off, n);
                    ProcessVm.readv(pid, local, 1, remote, 1);
                    Io.writeFully(out.fd(), buf.segment().asSlice(0, n));
                }
            }
        }
        return System.nanoTime() - t0;
    }

    private static void resetPeakRss() throws Exception {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    }

    private static long rssKib(String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
