package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.bindings.Linux;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kcmp;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/**
 * fds_all dumped and restored: every fd comes back at its number with its target, flags and offset, its
 * data (pipe, FIFO, socket queues, eventfd counter, unlinked file) is there for the program's own check,
 * and the fd table (FDSize) is the size it was at dump (seed 003).
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
        // A restored task resumes by re-running its pause(); a signal that arrives before it has run at all
        // is handled first, and the pause() that follows waits for another one. Wait until it sleeps.
        long asleep = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(Path.of("/proc/" + pid + "/stat")).replaceAll("^.*\\) ", "").startsWith("S")
                && System.nanoTime() < asleep) {
            Thread.sleep(5);
        }
        Signals.kill(pid, Linux.SIGUSR1());
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
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        int child;
        String fdSize;
        String childFdSize;
        try (Target target = Target.start("dumpee", dir, "64", "4")) {
            pid = target.pid();
            child = TreeRestoreTest.childrenOf(pid).getFirst();
            fdSize = fdSize(pid);
            childFdSize = fdSize(child);
            Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
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
    }

    @Test
    void anExternalTerminalComesBackByItsPath() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        // the terminal's master stays with the test, outside the dumped tree: a shell job's terminal
        try (Fd master = Io.open("/dev/ptmx", Linux.O_RDWR() | O_NOCTTY | Linux.O_NONBLOCK());
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

    /** TIOCSPTLCK and TIOCGPTN from asm-generic/ioctls.h, O_NOCTTY from asm-generic/fcntl.h. */
    private static final int O_NOCTTY = 0400;
    private static final long TIOCSPTLCK = 0x40045431L;
    private static final long TIOCGPTN = 0x80045430L;
}
