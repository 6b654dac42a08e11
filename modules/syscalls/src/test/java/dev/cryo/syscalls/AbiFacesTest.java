package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.cryo.bindings.Linux;

/**
 * The typed faces over the bindings' struct layouts that other modules use instead of the bindings: each
 * one exercised against the kernel, which reads and writes the memory it packs.
 */
class AbiFacesTest {
    @Test
    void thePageSizeIsTheOneTheKernelMapsWith() throws Exception {
        String smaps = Files.readString(Path.of("/proc/self/smaps"));
        String kb = smaps.lines().filter(l -> l.startsWith("KernelPageSize:")).findFirst().orElseThrow()
                .replaceAll("[^0-9]", "");
        assertThat(Page.SIZE).isEqualTo(Long.parseLong(kb) * 1024);
        assertThat(Page.count(1)).isEqualTo(1);
        assertThat(Page.count(Page.SIZE + 1)).isEqualTo(2);
        assertThat(Page.roundUp(Page.SIZE)).isEqualTo(Page.SIZE);
        assertThat(Page.start(3 * Page.SIZE + 5)).isEqualTo(3 * Page.SIZE);
    }

    /** A tgkill from this process, as PTRACE_GETSIGINFO shows it to the tracer: the signal, SI_TKILL, this pid. */
    @Test
    void aSiginfoReadsSignalCodeAndSender() throws Exception {
        try (Orphan o = Orphan.start("siginfo"); Arena arena = Arena.ofConfined()) {
            Ptrace.seize(o.pid, 0);
            Signals.tgkill(o.pid, o.pid, Linux.SIGUSR1());
            Wait.Status st = Wait.waitPid(o.pid, Linux.__WALL());
            assertThat(st.stopped() && st.stopSignal() == Linux.SIGUSR1()).as("%s", st).isTrue();
            MemorySegment info = SigInfo.allocate(arena);
            Ptrace.getSigInfo(o.pid, info);
            assertThat(info.byteSize()).isEqualTo(SigInfo.SIZE).isEqualTo(128);
            assertThat(SigInfo.signo(info)).isEqualTo(Linux.SIGUSR1());
            assertThat(SigInfo.code(info)).isEqualTo(SigInfo.SI_TKILL);
            assertThat(SigInfo.senderPid(info)).isEqualTo(ProcessHandle.current().pid());
            Ptrace.detach(o.pid, 0); // the signal suppressed: the orphan sleeps on until close kills it
        }
    }

    /** Two pages written in the middle of four: one range of them, and where the walk ended. */
    @Test
    void pagemapScanReportsTheWrittenPagesAsOneRange() {
        assumeThat(KernelFeatures.pagemapScan().works()).as("PAGEMAP_SCAN (Linux 6.7+)").isTrue();
        try (Mapping m = Mapping.anonymous(4 * Page.SIZE);
             Fd pagemap = Io.open("/proc/self/pagemap", Linux.O_RDONLY());
             PagemapScan scan = new PagemapScan(8)) {
            m.segment().set(ValueLayout.JAVA_BYTE, Page.SIZE, (byte) 1);
            m.segment().set(ValueLayout.JAVA_BYTE, 2 * Page.SIZE, (byte) 1);
            long present = PagemapScan.PRESENT;
            PagemapScan.Query q = new PagemapScan.Query(0, 0, 0, present, present, 0);
            List<long[]> ranges = new ArrayList<>();
            scan.scanAll(" /proc/self/pagemap", pagemap, m.address(), m.address() + 4 * Page.SIZE, q,
                    (from, to) -> ranges.add(new long[] {from, to}));
            assertThat(ranges).containsExactly(new long[] {m.address() + Page.SIZE, m.address() + 3 * Page.SIZE});
            assertThat(scan.walkEnd()).isEqualTo(m.address() + 4 * Page.SIZE);
            assertThat(scan.categories(0) & present).isEqualTo(present);
        }
    }

    /**
     * The UFFDIO_API handshake packed once: the kernel accepts it and answers with the features it has,
     * async write-protect among them exactly when the probe (a handshake asking for it) finds it.
     */
    @Test
    void theUffdHandshakeIsAccepted() {
        Fd uffd;
        try {
            uffd = Uffd.create();
        } catch (ErrnoException e) {
            assumeThat(e.is(Errno.ENOSYS) || e.is(Errno.EPERM)).as("userfaultfd refused: %s", e.getMessage()).isFalse();
            throw e;
        }
        try (uffd) {
            boolean wpAsync = KernelFeatures.uffdWpAsync().works();
            assertThat((Uffd.api(uffd, 0) & Linux.UFFD_FEATURE_WP_ASYNC()) != 0).isEqualTo(wpAsync);
        }
    }

    /**
     * The recvmsg block built for another task's memory, used here at its own address: recvmsg fills the byte
     * and the control buffer where the block's pointers say, and the fd it carries is the one sent.
     */
    @Test
    void aRecvOneFdBlockReceivesTheFdSent() throws Exception {
        Path file = Files.createTempFile("cryo-abi-", ".txt");
        Fd[] pair = Sockets.pair(Linux.SOCK_STREAM());
        try (Fd a = pair[0]; Fd b = pair[1]; Fd sent = Io.open(file.toString(), Linux.O_RDONLY());
             Arena arena = Arena.ofConfined()) {
            Sockets.sendFd(a, sent.fd());
            MemorySegment room = arena.allocate(Sockets.RECV_ONE_FD_BYTES, 8);
            room.copyFrom(Sockets.recvOneFd(arena, room.address()));
            long n = Syscall.call("recvmsg", Linux.__NR_recvmsg(), b.fd(), room.address(), Linux.MSG_CMSG_CLOEXEC());
            assertThat(n).isEqualTo(1);
            int got = Sockets.passedFd(room.asSlice(Sockets.RECV_ONE_FD_CONTROL, Sockets.CMSG_SPACE_INT));
            assertThat(got).isGreaterThan(2);
            try (Fd received = Fd.own(got)) {
                assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + received.fd()))).isEqualTo(file);
            }
            assertThat(Sockets.passedFd(arena.allocate(Sockets.CMSG_SPACE_INT, 8))).as("an empty control buffer").isEqualTo(-1);
        } finally {
            Files.delete(file);
        }
    }

    /** Every disposition rt_sigaction reads agrees with /proc/self/status: SIG_IGN where SigIgn says, a handler where SigCgt does. */
    @Test
    void sigactionsReadAgreeWithProc() throws Exception {
        long ign = Long.parseUnsignedLong(Proc.status((int) ProcessHandle.current().pid(), "SigIgn"), 16);
        long cgt = Long.parseUnsignedLong(Proc.status((int) ProcessHandle.current().pid(), "SigCgt"), 16);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = SigAction.allocate(arena);
            assertThat(sa.byteSize()).isEqualTo(SigAction.SIZE).isEqualTo(32);
            for (int sig = 1; sig <= 64; sig++) {
                Syscall.call("rt_sigaction", Linux.__NR_rt_sigaction(), sig, 0, sa.address(), 8);
                SigAction a = SigAction.read(sa);
                long bit = 1L << (sig - 1);
                assertThat(a.handler() == 1).as("signal %d ignored", sig).isEqualTo((ign & bit) != 0);
                assertThat(a.handler() > 1).as("signal %d caught", sig).isEqualTo((cgt & bit) != 0);
            }
        }
        SigAction a = new SigAction(0x1234, Linux.SA_RESTORER() | Linux.SA_SIGINFO(), 0x5678, 1L << 9);
        try (Arena arena = Arena.ofConfined()) {
            assertThat(SigAction.read(a.write(arena))).isEqualTo(a);
        }
    }

    /** Socket options through the faces: what setsockopt took, getsockopt gives back. */
    @Test
    void lingerAndTimeoutsRoundTripThroughTheKernel() {
        try (Fd sock = Sockets.socket(Linux.AF_INET(), Linux.SOCK_STREAM(), 0); Arena arena = Arena.ofConfined()) {
            Sockets.setOption(sock, Linux.SOL_SOCKET(), Linux.SO_LINGER(), new Linger(true, 7).write(arena));
            MemorySegment l = Linger.allocate(arena);
            Sockets.getOption(sock, Linux.SOL_SOCKET(), Linux.SO_LINGER(), l);
            assertThat(Linger.read(l)).isEqualTo(new Linger(true, 7));
            Sockets.setOption(sock, Linux.SOL_SOCKET(), Linux.SO_RCVTIMEO(), new TimeVal(3, 0).write(arena));
            MemorySegment tv = TimeVal.allocate(arena);
            Sockets.getOption(sock, Linux.SOL_SOCKET(), Linux.SO_RCVTIMEO(), tv);
            assertThat(TimeVal.read(tv)).isEqualTo(new TimeVal(3, 0));
            TimeVal.Timer timer = new TimeVal.Timer(new TimeVal(1, 2), new TimeVal(3, 4));
            assertThat(TimeVal.Timer.read(timer.write(arena))).isEqualTo(timer);
        }
    }

    /** clock_gettime agrees with Java's clock; a timerfd armed with a TimeSpec.Timer reports its interval back. */
    @Test
    void timespecsRoundTripThroughTheKernel() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment now = TimeSpec.allocate(arena);
            Syscall.call("clock_gettime", Linux.__NR_clock_gettime(), Linux.CLOCK_REALTIME(), now.address());
            assertThat(TimeSpec.read(now).sec()).isCloseTo(System.currentTimeMillis() / 1000, org.assertj.core.data.Offset.offset(5L));
            try (Fd tfd = Fd.own((int) Syscall.call("timerfd_create", Linux.__NR_timerfd_create(), Linux.CLOCK_MONOTONIC(),
                    Linux.TFD_CLOEXEC()))) {
                TimeSpec.Timer armed = new TimeSpec.Timer(new TimeSpec(7, 500), new TimeSpec(600, 0));
                Syscall.call("timerfd_settime", Linux.__NR_timerfd_settime(), tfd.fd(), 0, armed.write(arena).address(), 0);
                MemorySegment got = arena.allocate(TimeSpec.Timer.SIZE, 8);
                Syscall.call("timerfd_gettime", Linux.__NR_timerfd_gettime(), tfd.fd(), got.address());
                TimeSpec.Timer read = TimeSpec.Timer.read(got);
                assertThat(read.interval()).isEqualTo(new TimeSpec(7, 500));
                assertThat(read.value().sec()).isBetween(590L, 600L);
            }
        }
    }

    @Test
    void theNofileLimitIsWhatProcShows() throws Exception {
        Rlimits.Limit l = Rlimits.get(0, Linux.RLIMIT_NOFILE());
        String line = Files.readAllLines(Path.of("/proc/self/limits")).stream().filter(s -> s.startsWith("Max open files"))
                .findFirst().orElseThrow();
        String[] words = line.substring("Max open files".length()).trim().split("\\s+");
        assertThat(l).isEqualTo(new Rlimits.Limit(Long.parseLong(words[0]), Long.parseLong(words[1])));
        try (Arena arena = Arena.ofConfined()) {
            assertThat(Rlimits.Limit.read(l.write(arena))).isEqualTo(l);
        }
    }

    /** An OFD write lock, as F_OFD_GETLK on another description of the file tells it: type, range, pid -1. */
    @Test
    void aFileLockIsToldBackByGetlk() throws Exception {
        Path file = Files.createTempFile("cryo-abi-", ".lock");
        try (Fd a = Io.open(file.toString(), Linux.O_RDWR()); Fd b = Io.open(file.toString(), Linux.O_RDWR());
             Arena arena = Arena.ofConfined()) {
            FileLock wr = new FileLock((short) Linux.F_WRLCK(), (short) Linux.SEEK_SET(), 10, 20, 0);
            Syscall.call("fcntl(F_OFD_SETLK)", Linux.__NR_fcntl(), a.fd(), Linux.F_OFD_SETLK(), wr.write(arena).address());
            MemorySegment q = new FileLock((short) Linux.F_WRLCK(), (short) Linux.SEEK_SET(), 0, 0, 0).write(arena);
            Syscall.call("fcntl(F_OFD_GETLK)", Linux.__NR_fcntl(), b.fd(), Linux.F_OFD_GETLK(), q.address());
            assertThat(FileLock.read(q)).isEqualTo(new FileLock((short) Linux.F_WRLCK(), (short) Linux.SEEK_SET(), 10, 20, -1));
        } finally {
            Files.delete(file);
        }
    }

    /** The 64 bits an epoll_event carries (at offset 4: the struct is packed) come back with the event. */
    @Test
    void anEpollEventCarriesItsDataBack() {
        try (Fd ep = Fd.own((int) Syscall.call("epoll_create1", Linux.__NR_epoll_create1(), Linux.EPOLL_CLOEXEC()));
             Fd ev = Fd.own((int) Syscall.call("eventfd2", Linux.__NR_eventfd2(), 1, Linux.EFD_CLOEXEC()));
             Arena arena = Arena.ofConfined()) {
            long data = 0x1122334455667788L;
            Syscall.call("epoll_ctl", Linux.__NR_epoll_ctl(), ep.fd(), Linux.EPOLL_CTL_ADD(), ev.fd(),
                    new EpollEvent(Linux.EPOLLIN(), data).write(arena).address());
            MemorySegment out = arena.allocate(EpollEvent.SIZE, 8);
            assertThat(Syscall.call("epoll_wait", Linux.__NR_epoll_wait(), ep.fd(), out.address(), 1, 0)).isEqualTo(1);
            assertThat(EpollEvent.read(out)).isEqualTo(new EpollEvent(Linux.EPOLLIN(), data));
        }
    }

    /** readv through two iovecs splits the file's bytes where the vectors say. */
    @Test
    void iovecsSplitAReadv() throws Exception {
        Path file = Files.createTempFile("cryo-abi-", ".txt");
        Files.writeString(file, "abcdefg");
        try (Fd f = Io.open(file.toString(), Linux.O_RDONLY()); Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(3);
            MemorySegment two = arena.allocate(4);
            MemorySegment iov = IoVec.allocateArray(arena, 2);
            assertThat(iov.byteSize()).isEqualTo(2 * IoVec.SIZE);
            IoVec.set(iov, 0, one.address(), 3);
            IoVec.set(iov, 1, two.address(), 4);
            assertThat(Syscall.call("readv", Linux.__NR_readv(), f.fd(), iov.address(), 2)).isEqualTo(7);
            assertThat(new String(one.toArray(ValueLayout.JAVA_BYTE))).isEqualTo("abc");
            assertThat(new String(two.toArray(ValueLayout.JAVA_BYTE))).isEqualTo("defg");
        } finally {
            Files.delete(file);
        }
    }

    /** The sizes the kernel itself tells (PR_SET_MM_MAP_SIZE) or documents (clone_args v2, 88 bytes), and the fields at the UAPI offsets. */
    @Test
    void cloneArgsAndPrctlMmMapHaveTheKernelsLayout() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(ValueLayout.JAVA_INT);
            Syscall.call("prctl(PR_SET_MM_MAP_SIZE)", Linux.__NR_prctl(), Linux.PR_SET_MM(), Linux.PR_SET_MM_MAP_SIZE(), size.address(), 0, 0);
            assertThat(PrctlMmMap.SIZE).isEqualTo(size.get(ValueLayout.JAVA_INT, 0));
            MemorySegment m = new PrctlMmMap(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14).write(arena);
            assertThat(m.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(1);
            assertThat(m.get(ValueLayout.JAVA_LONG, 80)).as("env_end").isEqualTo(11);
            assertThat(m.get(ValueLayout.JAVA_LONG, 88)).as("auxv").isEqualTo(12);
            assertThat(m.get(ValueLayout.JAVA_INT, 96)).as("auxv_size").isEqualTo(13);
            assertThat(m.get(ValueLayout.JAVA_INT, 100)).as("exe_fd").isEqualTo(14);

            assertThat(CloneArgs.SIZE).isEqualTo(88);
            MemorySegment c = new CloneArgs(0x100, 17, 0xabc, 1).write(arena);
            assertThat(c.get(ValueLayout.JAVA_LONG, 0)).as("flags").isEqualTo(0x100);
            assertThat(c.get(ValueLayout.JAVA_LONG, 32)).as("exit_signal").isEqualTo(17);
            assertThat(c.get(ValueLayout.JAVA_LONG, 64)).as("set_tid").isEqualTo(0xabc);
            assertThat(c.get(ValueLayout.JAVA_LONG, 72)).as("set_tid_size").isEqualTo(1);
        }
    }

    /** A SysV segment's size as shmctl(IPC_STAT) fills its shmid_ds. */
    @Test
    void aShmSegmentsSizeIsReadFromItsShmidDs() {
        int id = SysvIpc.shmget(Linux.IPC_PRIVATE(), 3 * Page.SIZE, Linux.IPC_CREAT() | 0600);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ds = arena.allocate(SysvIpc.SHMID_DS_SIZE, 8);
            Syscall.call("shmctl", Linux.__NR_shmctl(), id, Linux.IPC_STAT(), ds.address());
            assertThat(SysvIpc.segmentSize(ds)).isEqualTo(3 * Page.SIZE);
        } finally {
            SysvIpc.removeSegment(id);
        }
    }

    @Test
    void inetAddressesLieWhereTheOffsetsSay() {
        try (Arena arena = Arena.ofConfined()) {
            byte[] v4 = {10, 1, 2, 3};
            MemorySegment sa = SocketAddress.inet(arena, Linux.AF_INET(), v4, 0x1234);
            assertThat(sa.asSlice(SocketAddress.inetAddressOffset(Linux.AF_INET()), 4).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(v4);
            assertThat(sa.get(ValueLayout.JAVA_BYTE, SocketAddress.INET_PORT_OFFSET)).isEqualTo((byte) 0x12);
            byte[] v6 = new byte[16];
            v6[15] = 1;
            MemorySegment sa6 = SocketAddress.inet(arena, Linux.AF_INET6(), v6, 0x1234);
            assertThat(sa6.asSlice(SocketAddress.inetAddressOffset(Linux.AF_INET6()), 16).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(v6);
            assertThat(sa6.get(ValueLayout.JAVA_BYTE, SocketAddress.INET_PORT_OFFSET + 1)).isEqualTo((byte) 0x34);
            MemorySegment unspec = SocketAddress.unspecified(arena);
            assertThat(unspec.byteSize()).isEqualTo(2);
            assertThat(unspec.get(ValueLayout.JAVA_SHORT, 0)).isEqualTo((short) Linux.AF_UNSPEC());
        }
    }

    /** A sleeping tracee's registers and rseq registration (glibc's, Linux 5.13+), through the faces. */
    @Test
    void aTraceesRegistersAndRseqRegistration() throws Exception {
        try (Orphan o = Orphan.start("regs"); Arena arena = Arena.ofConfined()) {
            Ptrace.seize(o.pid, 0);
            Ptrace.interrupt(o.pid);
            Wait.waitPid(o.pid, Linux.__WALL());
            UserRegs r = UserRegs.of(o.pid);
            assertThat(r.cs()).as("a 64-bit user code segment").isEqualTo(0x33);
            assertThat(r.origRax()).as("asleep in clock_nanosleep").isEqualTo(Linux.__NR_clock_nanosleep());
            UserRegs copy = new UserRegs().copyFrom(r);
            copy.r15(42);
            copy.gsBase(7);
            assertThat(copy.r15()).isEqualTo(42);
            assertThat(copy.gsBase()).isEqualTo(7);
            assertThat(copy.rip()).isEqualTo(r.rip());
            RseqConfiguration rseq = RseqConfiguration.of(o.pid);
            assumeThat(rseq.abiPointer()).as("glibc registered rseq").isNotZero();
            assertThat(rseq.abiSize()).isGreaterThanOrEqualTo(32);
            assertThat(rseq.signature()).as("glibc's RSEQ_SIG on x86").isEqualTo(0x53053053);
            Ptrace.detach(o.pid, 0);
        }
        SigAltStack s = new SigAltStack(0x7000, 8192, 0);
        try (Arena arena = Arena.ofConfined()) {
            assertThat(SigAltStack.read(s.write(arena))).isEqualTo(s);
        }
    }
}
