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
}
