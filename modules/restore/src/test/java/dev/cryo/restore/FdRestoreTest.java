package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.Freezer;
import dev.cryo.syscalls.Cgroup2;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kcmp;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Memfd;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.Rlimits;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TestCgroup;

/**
 * fds_all dumped and restored: every fd comes back at its number with its target, flags and offset, its
 * data (pipe, FIFO, socket queues, eventfd counter, unlinked file) is there for the program's own check,
 * and the fd table (FDSize) is the size it was at dump (seed 003). Memfds (zdtm/programs/memfd*.c) come back
 * with their data and seals, and each is one memfd again for all its fds and mappings, in every task.
 */
class FdRestoreTest {
    @TempDir
    Path work;

    /** What /proc says of one fd: its target (pipe and socket inodes left out: they are new) and fdinfo pos/flags. */
    record FdView(String target, String pos, String flags) {}

    static Map<Integer, FdView> fds(int pid) throws IOException {
        Map<Integer, FdView> out = new TreeMap<>();
        try (var dir = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path p : dir.toList()) {
                int fd = Integer.parseInt(p.getFileName().toString());
                String target = Files.readSymbolicLink(p).toString().replaceAll(":\\[\\d+\\]", "");
                String pos = null;
                String flags = null;
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/fdinfo/" + fd))) {
                    if (line.startsWith("pos:")) {
                        pos = line.substring(4).trim();
                    } else if (line.startsWith("flags:")) {
                        flags = line.substring(6).trim();
                    }
                }
                out.put(fd, new FdView(target, pos, flags));
            }
        }
        return out;
    }

    static java.util.List<String> links(long pid) throws IOException {
        try (var dir = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return dir.map(p -> {
                try {
                    return Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    return ""; // closed while listed
                }
            }).toList();
        }
    }

    static String fdSize(int pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("FDSize:")) {
                return line.substring(7).trim();
            }
        }
        throw new IllegalStateException("no FDSize in /proc/" + pid + "/status");
    }

    /** SIGUSR1: the program checks its fds and writes PASS or the first difference to DIR/check. */
    static String check(int pid, Path dir) throws Exception {
        Path check = dir.resolve("check");
        Files.deleteIfExists(check);
        // The program keeps SIGUSR1 blocked outside its sleep (checklib.h): sent before the restored task has
        // re-entered it, the request waits there.
        Signals.kill(pid, Kernel.SIGUSR1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(check)) {
            assertThat(System.nanoTime()).as("pid %d answers SIGUSR1 within 20 s; %s", pid, state(pid)).isLessThan(deadline);
            Thread.sleep(10);
        }
        return Files.readString(check).trim();
    }

    /** What the kernel says of a process that does not answer: state, masks, where it sleeps. */
    static String state(int pid) {
        try {
            StringBuilder b = new StringBuilder();
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.matches("(State|SigPnd|ShdPnd|SigBlk|SigCgt|TracerPid):.*")) {
                    b.append(line.replace('\t', ' ')).append("; ");
                }
            }
            b.append("wchan ").append(Files.readString(Path.of("/proc/" + pid + "/wchan")));
            b.append("; syscall ").append(Files.readString(Path.of("/proc/" + pid + "/syscall")).trim());
            return b.toString();
        } catch (IOException e) {
            return "gone: " + e.getMessage();
        }
    }

    private record Before(int pid, Map<Integer, FdView> fds, String fdSize) {}

    private Before dump(Path dir, Path images, String... args) throws Exception {
        try (Target target = Target.start("fds_all", dir, args)) {
            int pid = target.pid();
            Before before = new Before(pid, fds(pid), fdSize(pid));
            Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed fds_all").isTrue();
            return before;
        }
    }

    private void restoreAndCompare(Before before, Path images, Path dir) throws Exception {
        restoreAndCompare(before, images, dir, () -> {});
    }

    interface AfterCheck {
        void run() throws Exception;
    }

    private void restoreAndCompare(Before before, Path images, Path dir, AfterCheck after) throws Exception {
        RestoreStats stats = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(stats.rootPid()).isEqualTo(before.pid());
            assertThat(fds(before.pid())).as("fds of the restored process").isEqualTo(before.fds());
            assertThat(fdSize(before.pid())).as("FDSize after restore").isEqualTo(before.fdSize());
            assertThat(links(ProcessHandle.current().pid())).as("cryo keeps none of the restored pipes and sockets")
                    .doesNotContainAnyElementsOf(links(before.pid()).stream().filter(l -> l.contains(":[")).toList());
            assertThat(check(before.pid(), dir)).isEqualTo("PASS");
            after.run();
        } finally {
            RestoreTest.killAndAwait(before.pid());
        }
    }

    @Test
    void dumpThenRestoreKeepsFilesPipeEventfdAndDevNullAndFdSize64() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        Before before = dump(dir, images);
        assertThat(before.fdSize()).isEqualTo("64");
        restoreAndCompare(before, images, dir);
    }

    @Test
    void anFdAtNumber1000KeepsFdSize1024() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        Before before = dump(dir, images, "big");
        assertThat(before.fdSize()).isEqualTo("1024");
        restoreAndCompare(before, images, dir);
    }

    /** cryo's own RLIMIT_NOFILE (which its puppets start with) below the dumped fd 1000: the dumped limit makes room. */
    @Test
    void anFdAboveCryosOwnFileLimitComesBackInPlace() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        Before before = dump(dir, images, "big");
        int self = (int) ProcessHandle.current().pid();
        Rlimits.Limit mine = Rlimits.get(self, Kernel.RLIMIT_NOFILE);
        Rlimits.set(self, Kernel.RLIMIT_NOFILE, new Rlimits.Limit(512, mine.max()));
        try {
            restoreAndCompare(before, images, dir);
        } finally {
            Rlimits.set(self, Kernel.RLIMIT_NOFILE, mine);
        }
    }

    @Test
    void aFullTableOf64FdsEndingInAPipeKeepsFdSize64() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        Before before = dump(dir, images, "dense");
        assertThat(before.fds()).hasSize(64);
        assertThat(before.fdSize()).isEqualTo("64");
        restoreAndCompare(before, images, dir);
    }

    @Test
    void dumpThenRestoreKeepsFifoSocketpairsAndAnUnlinkedFile() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        Before before = dump(dir, images, "more", "big");
        restoreAndCompare(before, images, dir);
        assertThat(Files.list(dir).map(p -> p.getFileName().toString()).filter(n -> n.contains("ghost")).toList())
                .as("re-created ghost files left behind").isEmpty();
    }

    @Test
    void descriptionsSharedAcrossForkAreSharedAgainAfterRestore() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int child;
        Map<Integer, FdView> childFds;
        String childFdSize;
        Before before;
        try (Target target = Target.start("fds_all", dir, "more", "fork")) {
            int pid = target.pid();
            child = TreeRestoreTest.childrenOf(pid).getFirst();
            childFds = fds(child);
            childFdSize = fdSize(child);
            before = new Before(pid, fds(pid), fdSize(pid));
            Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed fds_all").isTrue();
        }
        RestoreStats stats = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
        try {
            int pid = stats.rootPid();
            assertThat(fds(child)).as("the child's fds").isEqualTo(childFds);
            assertThat(fdSize(child)).isEqualTo(childFdSize);
            for (int fd : new int[] {3, 5, 6, 7, 10, 12, 16}) {
                assertThat(Kcmp.sameFile(pid, fd, child, fd)).as("fd %d is one open file description in parent and child", fd).isTrue();
            }
            assertThat(Kcmp.sameFile(pid, 3, pid, 4)).as("fds 3 and 4 of the parent").isTrue();
            assertThat(fds(pid)).isEqualTo(before.fds());
            assertThat(check(pid, dir)).isEqualTo("PASS");
        } finally {
            // the parent first: a child killed first stays a zombie that its parent never reaps
            RestoreTest.killAndAwait(before.pid());
            RestoreTest.killAndAwait(child);
        }
    }

    @Test
    void dumpeeWithThreadsAndAChildPassesItsOwnCheckAfterRestore() throws Exception {
        assertThat(dumpAndRestoreDumpee(null)).isEqualTo(Freezer.PTRACE);
    }

    @Test
    void dumpeeFrozenThroughACgroupOfItsOwnPassesItsOwnCheckAfterRestore() throws Exception {
        Path mount = Cgroup2.mountPoint().orElse(null);
        assumeThat(mount).as("a cgroup2 hierarchy is mounted").isNotNull();
        try (TestCgroup cgroup = TestCgroup.create(mount)) {
            assertThat(dumpAndRestoreDumpee(cgroup)).isEqualTo(new Freezer.Cgroup2(cgroup.dir()));
            assertThat(cgroup.freezeAsked()).as("the dump thawed the cgroup it froze").isFalse();
        }
    }

    /**
     * Dumps dumpee (4 threads and a child; in {@code cgroup} if not null), restores it and has it check its
     * memory, files, threads and child. Returns the dump's freezer.
     */
    private Freezer dumpAndRestoreDumpee(TestCgroup cgroup) throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        int child;
        String fdSize;
        String childFdSize;
        DumpStats stats;
        try (Target target = Target.start("dumpee", dir, "64", "4")) {
            pid = target.pid();
            child = TreeRestoreTest.childrenOf(pid).getFirst();
            if (cgroup != null) {
                target.processes().forEach(cgroup::add);
            }
            fdSize = fdSize(pid);
            childFdSize = fdSize(child);
            stats = Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed dumpee").isTrue();
        }
        try {
            Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
            assertThat(fdSize(pid)).isEqualTo(fdSize);
            assertThat(fdSize(child)).isEqualTo(childFdSize);
            assertThat(check(pid, dir)).isEqualTo("PASS");
        } finally {
            RestoreTest.killAndAwait(pid);
            RestoreTest.killAndAwait(child);
        }
        return stats.freezer();
    }

    @Test
    void anExternalTerminalComesBackByItsPath() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        // the terminal's master stays with the test, outside the dumped tree: a shell job's terminal
        try (Fd master = Io.open("/dev/ptmx", Kernel.O_RDWR | O_NOCTTY | Kernel.O_NONBLOCK);
             Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
            Io.ioctl("TIOCSPTLCK", master.fd(), TIOCSPTLCK, n.address());
            Io.ioctl("TIOCGPTN", master.fd(), TIOCGPTN, n.address());
            String pts = "/dev/pts/" + n.get(ValueLayout.JAVA_INT, 0);
            Before before = dump(dir, images, "tty=" + pts);
            assertThat(before.fds().get(21).target()).isEqualTo(pts);
            restoreAndCompare(before, images, dir, () -> {
                MemorySegment buf = arena.allocate(256);
                StringBuilder seen = new StringBuilder();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!seen.toString().contains("tty ok") && System.nanoTime() < deadline) {
                    try {
                        long got = Io.read(master.fd(), buf);
                        seen.append(new String(buf.asSlice(0, got).toArray(ValueLayout.JAVA_BYTE)));
                    } catch (ErrnoException e) {
                        Thread.sleep(10);
                    }
                }
                assertThat(seen.toString()).as("what the restored process wrote to its terminal").contains("tty ok");
            });
        }
    }

    // Memfds: zdtm/programs/memfd*.c dumped and restored, looked at from outside, then asked (SIGTERM) for
    // their own verdict, which checks that a write through one fd or mapping is seen through the others.

    private static final int F_SEAL_SHRINK = 2;
    private static final int F_SEAL_GROW = 4;

    @Test
    void aMappedMemfdComesBackWithItsDataAndSealsAndItsFdAndMappingAreOneMemfd() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid = dumpProgram("memfd", dir, images);
        try {
            Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation());
            int fd = memfdFds(pid, "zdtm-memfd").getFirst();
            List<Long> maps = memfdMappings(pid, "zdtm-memfd");
            assertThat(maps).as("memfd mappings").hasSize(1);
            long len = 2L << 20;
            try (Fd pidfd = Pidfd.open(pid); Fd memfd = Pidfd.getFd(pidfd, fd); Arena arena = Arena.ofConfined()) {
                assertThat(Memfd.seals(memfd)).as("seals").isEqualTo(F_SEAL_SHRINK);
                MemorySegment data = arena.allocate(len);
                assertThat(Io.pread(memfd.fd(), data, 0)).isEqualTo(len);
                assertThat(firstDifference(data, 13)).as("first byte of the memfd unlike the dumped data").isEqualTo(-1);
                // one object: what cryo writes through the task's fd, the task's mapping shows
                MemorySegment b = arena.allocate(1);
                b.set(ValueLayout.JAVA_BYTE, 0, (byte) ~pattern(13, 777));
                Memfd.pwriteFully(memfd, b, 777);
                assertThat(readMemory(pid, maps.getFirst() + 777, 1)[0]).as("the mapping's byte 777 after a write through the fd")
                        .isEqualTo((byte) ~pattern(13, 777));
                b.set(ValueLayout.JAVA_BYTE, 0, pattern(13, 777));
                Memfd.pwriteFully(memfd, b, 777);
            }
            assertThat(inode(Path.of("/proc/" + pid + "/fd/" + fd))).as("the fd's and the mapping's memfd")
                    .isEqualTo(inode(mapFile(pid, "zdtm-memfd")));
            assertThat(links(ProcessHandle.current().pid())).as("cryo keeps no memfd").noneMatch(l -> l.startsWith("/memfd:zdtm"));
            assertThat(verdict(pid, dir)).isEqualTo("PASS");
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }

    @Test
    void aMemfdOnlyMappedComesBackAsOneMemfdWithoutAnFd() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid = dumpProgram("memfd_maponly", dir, images);
        try {
            Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation());
            assertThat(memfdFds(pid, "memfd:")).as("fds of a memfd").isEmpty();
            List<String> ranges = memfdRanges(pid, "zdtm-memfd-maponly");
            assertThat(ranges).as("the shared writable, shared read-only and private mappings").hasSize(3);
            Set<Long> inodes = new HashSet<>();
            for (String r : ranges) {
                inodes.add(inode(Path.of("/proc/" + pid + "/map_files/" + r)));
            }
            assertThat(inodes).as("memfds behind the three mappings").hasSize(1);
            String writable = Files.readAllLines(Path.of("/proc/" + pid + "/maps")).stream()
                    .filter(l -> l.contains(" rw-s ") && l.contains("/memfd:zdtm-memfd-maponly ")).findFirst().orElseThrow();
            byte[] shared = readMemory(pid, Long.parseUnsignedLong(writable.substring(0, writable.indexOf('-')), 16), 4096);
            for (int i = 0; i < shared.length; i++) {
                assertThat(shared[i]).as("byte %d of the shared writable mapping", i).isEqualTo(pattern(17, i));
            }
            assertThat(verdict(pid, dir)).isEqualTo("PASS");
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }

    @Test
    void aMemfdSharedAcrossForkIsOneMemfdInParentAndChildAgain() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        int child;
        try (Target target = Target.start("memfd_fork", dir, Target.Stdio.DEV_NULL)) {
            pid = target.pid();
            child = TreeRestoreTest.childrenOf(pid).getFirst();
            Dumper.dump(DumpOptions.of(pid, images), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed memfd_fork").isTrue();
        }
        try {
            Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation());
            assertThat(TreeRestoreTest.childrenOf(pid)).containsExactly(child);
            int fd = memfdFds(pid, "zdtm-memfd-fork").getFirst();
            assertThat(memfdFds(child, "zdtm-memfd-fork")).containsExactly(fd);
            assertThat(Kcmp.sameFile(pid, fd, child, fd)).as("fd %d is one open file description in parent and child", fd).isTrue();
            long memfd = inode(Path.of("/proc/" + pid + "/fd/" + fd));
            assertThat(inode(mapFile(pid, "zdtm-memfd-fork"))).as("the parent's mapping").isEqualTo(memfd);
            assertThat(inode(mapFile(child, "zdtm-memfd-fork"))).as("the child's mapping").isEqualTo(memfd);
            try (Fd pidfd = Pidfd.open(pid); Fd copy = Pidfd.getFd(pidfd, fd)) {
                assertThat(Memfd.seals(copy)).as("seals").isEqualTo(F_SEAL_SHRINK | F_SEAL_GROW);
            }
            // the parent's check has the child write through its mapping and fd, and reads both back
            assertThat(verdict(pid, dir)).isEqualTo("PASS");
        } finally {
            // the parent first: a child killed first stays a zombie that its parent never reaps
            RestoreTest.killAndAwait(pid);
            RestoreTest.killAndAwait(child);
        }
    }

    @Test
    void memfdSealsThatForbidWritableMappingsComeBackAfterTheMappings() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid = dumpProgram("memfd_seals", dir, images);
        try {
            Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation());
            try (Fd pidfd = Pidfd.open(pid);
                 Fd sealed = Pidfd.getFd(pidfd, memfdFds(pid, "zdtm-memfd-write-sealed").getFirst());
                 Fd future = Pidfd.getFd(pidfd, memfdFds(pid, "zdtm-memfd-future-sealed").getFirst())) {
                assertThat(Memfd.seals(sealed)).as("F_SEAL_WRITE | F_SEAL_SEAL").isEqualTo(0x8 | 0x1);
                assertThat(Memfd.seals(future)).as("F_SEAL_FUTURE_WRITE").isEqualTo(0x10);
            }
            assertThat(verdict(pid, dir)).isEqualTo("PASS");
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }

    /** Starts zdtm program {@code name}, dumps it (which kills it) and returns its pid. */
    private static int dumpProgram(String name, Path dir, Path images) throws Exception {
        try (Target target = Target.start(name, dir, Target.Stdio.DEV_NULL)) {
            Dumper.dump(DumpOptions.of(target.pid(), images), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed %s", name).isTrue();
            return target.pid();
        }
    }

    /** zdtmlib.h's test_pattern: byte {@code i} of area {@code seed}. */
    static byte pattern(long seed, long i) {
        long x = (seed * 0x9E3779B97F4A7C15L) ^ (i * 2654435761L);
        return (byte) (x >>> 17);
    }

    /** The first offset where {@code data} is not zdtmlib.h's pattern {@code seed}, or -1. */
    static long firstDifference(MemorySegment data, long seed) {
        for (long i = 0; i < data.byteSize(); i++) {
            if (data.get(ValueLayout.JAVA_BYTE, i) != pattern(seed, i)) {
                return i;
            }
        }
        return -1;
    }

    /** The fds of {@code pid} whose target names memfd {@code name}, in order. */
    static List<Integer> memfdFds(int pid, String name) throws IOException {
        List<Integer> out = new ArrayList<>();
        fds(pid).forEach((fd, v) -> {
            if (v.target().startsWith("/memfd:") && v.target().contains(name)) {
                out.add(fd);
            }
        });
        return out;
    }

    /** The "start-end" of each mapping of memfd {@code name} in {@code pid}, as /proc/PID/map_files names them. */
    static List<String> memfdRanges(int pid, String name) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/maps")).stream()
                .filter(l -> l.contains("/memfd:" + name + " ")).map(l -> l.substring(0, l.indexOf(' '))).toList();
    }

    /** The start address of each mapping of memfd {@code name} in {@code pid}. */
    static List<Long> memfdMappings(int pid, String name) throws IOException {
        return memfdRanges(pid, name).stream().map(r -> Long.parseUnsignedLong(r.substring(0, r.indexOf('-')), 16)).toList();
    }

    /** /proc/PID/map_files of the first mapping of memfd {@code name}. */
    static Path mapFile(int pid, String name) throws IOException {
        return Path.of("/proc/" + pid + "/map_files/" + memfdRanges(pid, name).getFirst());
    }

    static long inode(Path p) throws IOException {
        return (long) Files.getAttribute(p, "unix:ino");
    }

    /** {@code len} bytes of {@code pid}'s memory at {@code addr}, through /proc/PID/mem. */
    static byte[] readMemory(int pid, long addr, int len) throws IOException {
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            mem.seek(addr);
            byte[] out = new byte[len];
            mem.readFully(out);
            return out;
        }
    }

    /**
     * SIGTERM: a zdtm program checks itself and writes its verdict to DIR/result. test_wait() keeps SIGTERM
     * blocked outside its sleep, so one sent before the restored program sleeps again waits for it.
     */
    static String verdict(int pid, Path dir) throws Exception {
        Path result = dir.resolve("result");
        Files.deleteIfExists(result);
        Signals.kill(pid, Kernel.SIGTERM);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(result) || Files.readString(result).isBlank()) {
            assertThat(System.nanoTime()).as("pid %d gives its verdict within 20 s; %s", pid, state(pid)).isLessThan(deadline);
            Thread.sleep(10);
        }
        return Files.readString(result).trim();
    }

    /** TIOCSPTLCK and TIOCGPTN from asm-generic/ioctls.h, O_NOCTTY from asm-generic/fcntl.h. */
    private static final int O_NOCTTY = 0400;
    private static final long TIOCSPTLCK = 0x40045431L;
    private static final long TIOCGPTN = 0x80045430L;
}
