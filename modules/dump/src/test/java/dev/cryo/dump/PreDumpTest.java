package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.Freezer;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Proc;
import dev.cryo.testkit.Target;

/** Pre-dumps in both modes, chained to a final dump: what each step writes, and what the chain holds. */
class PreDumpTest {

    private Path work;

    @BeforeEach
    void scratch() throws Exception {
        work = scratchDir("cryo-predump");
    }

    @AfterEach
    void clean() throws Exception {
        deleteTree(work);
    }

    /** A new directory for snapshots: on tmpfs (1 GiB of them), to measure cryo rather than the disk. */
    static Path scratchDir(String prefix) throws Exception {
        return Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"), prefix);
    }

    static void deleteTree(Path dir) throws Exception {
        if (dir != null) {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** pd_dirty: MiB of memory, PERMILLE of its pages written on each SIGUSR2. */
    static Target dirtyTarget(Path dir, int mib, int permille) {
        return Target.start("pd_dirty", dir, Integer.toString(mib), Integer.toString(permille));
    }

    /** Asks the target to write its next share of pages, and waits until it has. */
    static void dirty(Target t, int generation) throws Exception {
        new ProcessBuilder("kill", "-USR2", Integer.toString(t.pid())).start().waitFor();
        Path done = t.dir().resolve("dirtied");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(done) && Files.readString(done).trim().equals(Integer.toString(generation)))) {
            assertThat(System.nanoTime()).as("pd_dirty writes generation %d", generation).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    /** The target's own checksum of its memory (pd_dirty's FNV-1a over its buffer). */
    static String checksum(Target t) {
        return t.check().split(" ")[1];
    }

    /** The same checksum computed from the images: the buffer's pages resolved through the parent chain. */
    static String checksumFromImages(Path dir, int pid, long start, long bytes) {
        long h = 0xcbf29ce484222325L;
        try (PageSource src = PageSource.open(new DirectoryImageStore(dir), pid)) {
            long at = start;
            for (PageSource.Extent x : src.resolve(start, start + bytes)) {
                assertThat(x.vaddr()).as("no hole in the buffer at 0x%x", at).isEqualTo(at);
                MemorySegment data = src.bytes(x);
                for (long i = 0; i < data.byteSize(); i += 8) {
                    h = (h ^ data.get(ValueLayout.JAVA_LONG_UNALIGNED, i)) * 0x100000001b3L;
                }
                at += x.bytes();
            }
            assertThat(at).isEqualTo(start + bytes);
        }
        return String.format("%016x", h);
    }

    /** The address of pd_dirty's buffer, as it wrote it. */
    static long buffer(Target t) throws Exception {
        return Long.parseUnsignedLong(Files.readString(t.dir().resolve("buffer")).trim(), 16);
    }

    /**
     * Waits until the target (single-threaded) sleeps in rt_sigsuspend, past the last store of its start-up (the
     * ready file): it writes nothing more until a signal wakes it.
     */
    static void awaitIdle(Target t) throws Exception {
        int rtSigsuspend = 130; // asm/unistd_64.h; not in bindings' header list
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(Proc.stat(t.pid()).state() == 'S'
                && Proc.read(t.pid(), "syscall").startsWith(rtSigsuspend + " "))) {
            assertThat(System.nanoTime()).as("pid %d sleeps in rt_sigsuspend within 10 s", t.pid()).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    static void assertRunsFree(Target t) {
        String status = Proc.read(t.pid(), "status");
        assertThat(status).contains("TracerPid:\t0");
        assertThat(Proc.stat(t.pid()).state()).isIn('S', 'R');
    }

    @ParameterizedTest
    @EnumSource(PreDumpMode.class)
    void twoPreDumpsAndADumpOfA1GiBTargetWriteOnlyWhatChanged(PreDumpMode mode) throws Exception {
        int mib = 1024;
        long pages = mib * 256L;
        Path pre1 = Files.createDirectory(work.resolve("pre1"));
        Path pre2 = Files.createDirectory(work.resolve("pre2"));
        Path dump = Files.createDirectory(work.resolve("dump"));
        try (Target t = dirtyTarget(work.resolve("t"), mib, 10)) {
            int pid = t.pid();
            DumpStats s1 = Dumper.preDump(DumpOptions.of(pid, pre1).withPreDumpMode(mode), new Cancellation());
            assertThat(s1.pagesWritten()).isGreaterThanOrEqualTo(pages);
            assertRunsFree(t);
            dirty(t, 1);
            DumpStats s2 = Dumper.preDump(DumpOptions.of(pid, pre2).withPreDumpMode(mode).withPrevImagesDir(Path.of("../pre1")),
                    new Cancellation());
            assertRunsFree(t);
            dirty(t, 2);
            String expected = checksum(t);
            long buf = buffer(t);
            DumpStats s3 = Dumper.dump(DumpOptions.of(pid, dump).withShellJob(true).withTrackMem(true)
                    .withPrevImagesDir(Path.of("../pre2")), new Cancellation());
            System.out.printf("%s: pre-dump 1 wrote %d pages (frozen %.2f ms), pre-dump 2 wrote %d (frozen %.2f ms, %d in parent,"
                            + " pinned %d KiB), dump wrote %d (%d in parent)%n", mode, s1.pagesWritten(), s1.frozenNanos() / 1e6,
                    s2.pagesWritten(), s2.frozenNanos() / 1e6, s2.pagesInParent(), s2.peakPinnedBytes() / 1024,
                    s3.pagesWritten(), s3.pagesInParent());
            assertThat(s2.pagesWritten()).as("second pre-dump").isLessThanOrEqualTo(pages * 2 / 100);
            assertThat(s3.pagesWritten()).as("final dump").isLessThanOrEqualTo(pages * 2 / 100);
            assertThat(s2.pagesInParent()).isGreaterThan(pages * 97 / 100);
            assertThat(s3.trackers()).containsExactly(DirtyTracker.UFFD_WP);
            assertThat(t.awaitExit(30)).as("the dump killed the target").isTrue();

            assertThat(Files.readSymbolicLink(pre2.resolve("parent"))).isEqualTo(Path.of("../pre1"));
            assertThat(Files.readSymbolicLink(dump.resolve("parent"))).isEqualTo(Path.of("../pre2"));
            InventoryEntry inv = new DirectoryImageStore(pre2).readEntry(ImageKind.INVENTORY, InventoryEntry.parser());
            assertThat(inv.getPreDumpMode()).isEqualTo(mode.inventoryValue());
            assertThat(checksumFromImages(dump, pid, buf, pages * Page.SIZE)).as("memory through the chain").isEqualTo(expected);
        }
    }

    @Test
    void bothModesCopyTheSamePagesOfAnIdleTarget() throws Exception {
        Path read = Files.createDirectory(work.resolve("read"));
        Path splice = Files.createDirectory(work.resolve("splice"));
        try (Target t = dirtyTarget(work.resolve("t"), 64, 10)) {
            awaitIdle(t);
            Dumper.preDump(DumpOptions.of(t.pid(), read).withPreDumpMode(PreDumpMode.READ), new Cancellation());
            Dumper.preDump(DumpOptions.of(t.pid(), splice).withPreDumpMode(PreDumpMode.SPLICE), new Cancellation());
            long trackers;
            try (var fds = Files.list(Path.of("/proc/" + t.pid() + "/fd"))) {
                trackers = fds.filter(f -> {
                    try {
                        return Files.readSymbolicLink(f).toString().equals("anon_inode:[userfaultfd]");
                    } catch (java.io.IOException e) {
                        return false;
                    }
                }).count();
            }
            assertThat(trackers).as("a second chain replaces the first one's tracker").isEqualTo(1);
            try (PageSource a = PageSource.open(new DirectoryImageStore(read), t.pid());
                 PageSource b = PageSource.open(new DirectoryImageStore(splice), t.pid())) {
                List<PageSource.Extent> xa = a.extents();
                List<PageSource.Extent> xb = b.extents();
                assertThat(xb).extracting(PageSource.Extent::vaddr, PageSource.Extent::pages)
                        .isEqualTo(xa.stream().map(x -> org.assertj.core.groups.Tuple.tuple(x.vaddr(), x.pages())).toList());
                List<Long> differing = new ArrayList<>();
                for (int i = 0; i < xa.size(); i++) {
                    MemorySegment pa = a.bytes(xa.get(i));
                    MemorySegment pb = b.bytes(xb.get(i));
                    long at = pa.mismatch(pb);
                    if (at >= 0) {
                        long va = xa.get(i).vaddr() + at;
                        differing.add(va);
                        String where = Proc.read(t.pid(), "maps").lines().filter(l -> {
                            String[] r = l.split("\\s+")[0].split("-");
                            return Long.parseUnsignedLong(r[0], 16) <= va && va < Long.parseUnsignedLong(r[1], 16);
                        }).findFirst().orElse("?");
                        System.out.printf("differ at 0x%x (%s): read %x, splice %x%n", va, where, pa.get(ValueLayout.JAVA_LONG_UNALIGNED, at & ~7),
                                pb.get(ValueLayout.JAVA_LONG_UNALIGNED, at & ~7));
                    }
                }
                assertThat(differing).as("pages that differ between read and splice mode").isEmpty();
            }
            assertThat(t.check()).startsWith("0 ");
        }
    }

    /**
     * Why read mode's frozen time does not grow with memory: every page is copied after the tree is released,
     * while it runs on. (How long it stays frozen is a figure of the benchmark, scripts/bench-predump and
     * docs/benchmarks.md, not a bound to assert on a shared machine.)
     */
    @Test
    void readModeCopiesEveryPageWhileTheTargetRuns() throws Exception {
        try (Target t = dirtyTarget(work.resolve("t"), 256, 10)) {
            int pid = t.pid();
            List<String> seen = new ArrayList<>();
            long[] copied = {0};
            DumpListener watcher = new DumpListener() {
                @Override
                public void pages(long done, long total) {
                    copied[0] = done;
                    String tracer = Proc.status(pid, "TracerPid");
                    char state = Proc.stat(pid).state();
                    if (!tracer.equals("0") || state == 't' || state == 'T') {
                        seen.add("at " + done + " of " + total + " pages: TracerPid " + tracer + ", state " + state);
                    }
                }
            };
            Path prev = null;
            for (int step = 0; step < 2; step++) {
                Path dir = Files.createDirectory(work.resolve("s" + step));
                DumpOptions o = DumpOptions.of(pid, dir).withPreDumpMode(PreDumpMode.READ).withListener(watcher);
                if (prev != null) {
                    o = o.withPrevImagesDir(Path.of("..").resolve(prev.getFileName()));
                }
                copied[0] = 0;
                DumpStats s = Dumper.preDump(o, new Cancellation());
                assertThat(s.freezer()).as("frozen by ptrace, which TracerPid shows").isEqualTo(Freezer.PTRACE);
                assertThat(copied[0]).as("pages copied in step %d", step).isEqualTo(s.pagesWritten()).isPositive();
                dirty(t, step + 1);
                prev = dir;
            }
            assertThat(seen).as("copies made while the target was traced or stopped").isEmpty();
        }
    }

    @Test
    void aTargetKilledDuringAReadModeCopyFailsThePreDumpPlainly() throws Exception {
        Path dir = Files.createDirectory(work.resolve("pre1"));
        try (Target t = dirtyTarget(work.resolve("t"), 512, 10)) {
            int pid = t.pid();
            DumpListener killer = new DumpListener() {
                @Override
                public void pages(long done, long total) {
                    if (done < total && Files.exists(Path.of("/proc/" + pid))) {
                        try {
                            new ProcessBuilder("kill", "-KILL", Integer.toString(pid)).start().waitFor();
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                }
            };
            assertThatThrownBy(() -> Dumper.preDump(DumpOptions.of(pid, dir).withPreDumpMode(PreDumpMode.READ).withListener(killer),
                    new Cancellation()))
                    .isInstanceOf(DumpException.class).hasMessageStartingWith("cannot pre-dump pid " + pid + ":")
                    .satisfies(e -> System.out.println("killed mid-copy: " + e.getMessage()))
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            assertThat(dir.resolve("inventory.img")).doesNotExist();
        }
    }

    @Test
    void aDumpThatCannotContinueTheTrackingCopiesEverythingAndClosesTheLeftTracker() throws Exception {
        Path pre1 = Files.createDirectory(work.resolve("pre1"));
        Path plain = Files.createDirectory(work.resolve("plain"));
        Path dump = Files.createDirectory(work.resolve("dump"));
        try (Target t = dirtyTarget(work.resolve("t"), 16, 10)) {
            int pid = t.pid();
            Dumper.preDump(DumpOptions.of(pid, pre1).withPreDumpMode(PreDumpMode.READ), new Cancellation());
            String fd = Files.readAllLines(pre1.resolve("cryo-uffd.txt")).getLast().split(" ")[1];
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString()).isEqualTo("anon_inode:[userfaultfd]");
            // a dump that does not continue the chain: the tracker is cryo's, not dumped as the task's fd
            Dumper.dump(DumpOptions.of(pid, plain).withShellJob(true).withLeaveRunning(true), new Cancellation());
            assertThat(Path.of("/proc/" + pid + "/fd/" + fd)).doesNotExist();
            // a dump on top of pre1 whose tracker is gone: every page is written, none taken from pre1
            DumpStats s = Dumper.dump(DumpOptions.of(pid, dump).withShellJob(true).withTrackMem(true)
                    .withPrevImagesDir(Path.of("../pre1")), new Cancellation());
            assertThat(s.pagesInParent()).isZero();
            assertThat(s.pagesWritten()).isGreaterThanOrEqualTo(16 * 256);
            assertThat(s.trackers()).as("no tracker left to tell written pages apart").isEmpty();
        }
    }

    @Test
    void aMissingPreviousSnapshotIsRefusedPlainly() throws Exception {
        Path dir = Files.createDirectory(work.resolve("pre2"));
        try (Target t = dirtyTarget(work.resolve("t"), 4, 10)) {
            assertThatThrownBy(() -> Dumper.preDump(DumpOptions.of(t.pid(), dir).withPrevImagesDir(Path.of("../nope")),
                    new Cancellation()))
                    .isInstanceOf(DumpException.class).hasMessageContaining("../nope").hasMessageContaining("not a directory");
            assertThat(dir.resolve("parent")).doesNotExist();
            assertRunsFree(t);
        }
    }

    /**
     * A pre-dump leaves a sleeping thread to go on in restart_syscall; the final dump still records the
     * call it sleeps in (so that restore makes that call, not a restart_syscall that would return EINTR).
     */
    @ParameterizedTest
    @EnumSource(PreDumpMode.class)
    void aCallContinuedByRestartSyscallAfterAPreDumpIsDumpedAsTheCallItself(PreDumpMode mode) throws Exception {
        Path pre1 = Files.createDirectory(work.resolve("pre1"));
        Path pre2 = Files.createDirectory(work.resolve("pre2"));
        Path dump = Files.createDirectory(work.resolve("dump"));
        try (Target t = Target.start("sleeping", work.resolve("t"))) {
            int pid = t.pid();
            String[] asleep = awaitSyscall(pid, n -> n == Kernel.__NR_clock_nanosleep || n == Kernel.__NR_nanosleep);
            long call = Long.parseLong(asleep[0]);
            Dumper.preDump(DumpOptions.of(pid, pre1).withPreDumpMode(mode), new Cancellation());
            String[] after = awaitSyscall(pid, n -> n == Kernel.__NR_restart_syscall);
            assertThat(after[8]).as("same instruction").isEqualTo(asleep[8]);
            Dumper.preDump(DumpOptions.of(pid, pre2).withPreDumpMode(mode).withPrevImagesDir(Path.of("../pre1")),
                    new Cancellation());
            assertThat(Files.readAllLines(pre2.resolve("cryo-restart.txt")).getLast())
                    .as("carried from pre1").startsWith(pid + " " + Long.toHexString(call) + " ");
            Dumper.dump(DumpOptions.of(pid, dump).withShellJob(true).withTrackMem(true).withPrevImagesDir(Path.of("../pre2")),
                    new Cancellation());
            var g = new DirectoryImageStore(dump).readEntry(ImageKind.CORE, pid, CoreEntry.parser()).getThreadInfo().getGpregs();
            assertThat(g.getAx()).as("restarted").isEqualTo(Kernel.__NR_restart_syscall);
            assertThat(g.getOrigAx()).as("the call it sleeps in").isEqualTo(call);
            assertThat(g.getIp()).as("at its syscall instruction").isEqualTo(Long.parseUnsignedLong(asleep[8].substring(2), 16) - 2);
        }
    }

    @Test
    void aCorruptRecordOfInterruptedCallsFailsTheDumpPlainly() throws Exception {
        Path pre1 = Files.createDirectory(work.resolve("pre1"));
        Path dump = Files.createDirectory(work.resolve("dump"));
        try (Target t = dirtyTarget(work.resolve("t"), 4, 10)) {
            Dumper.preDump(DumpOptions.of(t.pid(), pre1), new Cancellation());
            Files.writeString(pre1.resolve("cryo-restart.txt"), t.pid() + " e6 zz 0 0 0 0 0 0\n");
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dump).withShellJob(true).withTrackMem(true)
                    .withPrevImagesDir(Path.of("../pre1")), new Cancellation()))
                    .isInstanceOf(DumpException.class).hasMessageContaining(pre1.resolve("cryo-restart.txt").toString())
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            assertThat(dump.resolve("inventory.img")).doesNotExist();
            assertRunsFree(t);
        }
    }

    /** The fields of /proc/PID/syscall once the number in it satisfies {@code want}. */
    private static String[] awaitSyscall(int pid, java.util.function.LongPredicate want) throws Exception {
        String[] f = {};
        for (int i = 0; i < 500; i++) {
            f = Proc.read(pid, "syscall").trim().split(" ");
            if (f.length == 9 && want.test(Long.parseLong(f[0]))) {
                return f;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("pid " + pid + " never reached the awaited call: " + String.join(" ", f));
    }
}
