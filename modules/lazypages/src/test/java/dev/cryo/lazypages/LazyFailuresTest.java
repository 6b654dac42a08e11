package dev.cryo.lazypages;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.pagexfer.RemotePages;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.TcpSocket;
import dev.cryo.syscalls.Uffd;
import dev.cryo.testkit.Target;

/**
 * What goes wrong on the daemon's side: a restore that hands it a process the dump does not have, and a page
 * source that answers wrong, sends part of a page, goes away or falls silent while a restored process waits on
 * a fault. Each ends in one line naming the cause (and the fault: pid, thread, address), soon, and leaves no
 * task of the restored tree behind.
 */
class LazyFailuresTest {
    private static final int SIGUSR1 = 10;
    private static final int GET = 7;
    private static final int PARENT = 5;
    private static final int ADD_F = 6;

    @TempDir
    Path work;

    /** The images of a dump of a small pd_dirty (the dump ended it). */
    private Path dumpedImages() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target t = Target.start("pd_dirty", work.resolve("t"), Target.Stdio.DEV_NULL, "4", "10")) {
            dev.cryo.dump.Dumper.dump(dev.cryo.dump.DumpOptions.of(t.pid(), images).withWarmUp(false).withShellJob(true),
                    new dev.cryo.parasite.Cancellation());
        }
        return images;
    }

    @Test
    void aUserfaultfdForAPidTheDumpDoesNotHaveIsRefused() throws Exception {
        Path images = dumpedImages();
        Path socket = work.resolve("lp.sock");
        try (LazyTrees.Daemon daemon = LazyTrees.Daemon.start(images, socket, null, null, Duration.ZERO);
             Handoff h = Handoff.connect(socket);
             Fd uffd = Uffd.create();
             Fd self = Pidfd.open((int) ProcessHandle.current().pid())) {
            assertThatThrownBy(() -> h.hand(4_000_000, uffd, self))
                    .isInstanceOf(LazyPagesException.class)
                    .hasMessageContaining("refused pid 4000000: pid 4000000 is not a process of the dump in " + images);
            assertThatThrownBy(() -> daemon.await(10))
                    .isInstanceOf(LazyPagesException.class)
                    .hasMessage("refused pid 4000000 of the restore: pid 4000000 is not a process of the dump in " + images
                            + " (pstree.img)");
        }
    }

    /**
     * A restore sends its processes without waiting (the daemon takes them while the restore goes on): a refusal
     * comes out of {@link Handoff#confirm}, and a process sent after the daemon refused one and went away fails with
     * that refusal, not with a broken socket.
     */
    @Test
    void aRefusalOfAProcessSentWithoutWaitingComesOutOfConfirm() throws Exception {
        Path images = dumpedImages();
        Path socket = work.resolve("lp.sock");
        try (LazyTrees.Daemon daemon = LazyTrees.Daemon.start(images, socket, null, null, Duration.ZERO);
             Handoff h = Handoff.connect(socket);
             Fd uffd = Uffd.create();
             Fd self = Pidfd.open((int) ProcessHandle.current().pid())) {
            h.send(4_000_000, uffd, self); // returns before the daemon has answered
            assertThatThrownBy(() -> daemon.await(10)) // the daemon has refused it and ended
                    .isInstanceOf(LazyPagesException.class)
                    .hasMessageStartingWith("refused pid 4000000 of the restore");
            assertThatThrownBy(() -> {
                h.send(4_000_001, uffd, self);
                h.confirm();
            }).isInstanceOf(LazyPagesException.class)
                    .hasMessageContaining("refused pid 4000000: pid 4000000 is not a process of the dump in " + images);
        }
    }

    /** How a fake page source misbehaves at the first GET. */
    private enum Fault {
        WRONG_ADDRESS, SHORT_PAGE, DIES, SILENT
    }

    @Test
    void aSourceThatAnswersWithTheWrongAddressKillsTheTree() throws Exception {
        assertThat(failureWith(Fault.WRONG_ADDRESS)).contains("answered GET pid").contains("with the pages at 0x");
    }

    @Test
    void aSourceThatSendsAShortPageKillsTheTree() throws Exception {
        assertThat(failureWith(Fault.SHORT_PAGE)).contains("a short page (1000 of 4096 bytes)");
    }

    @Test
    void aSourceThatDiesKillsTheTree() throws Exception {
        assertThat(failureWith(Fault.DIES)).contains("the connection ended before the answer to GET pid");
    }

    @Test
    void aSourceThatFallsSilentKillsTheTreeWithinItsTimeout() throws Exception {
        long start = System.nanoTime();
        assertThat(failureWith(Fault.SILENT)).contains("sent nothing for 1 s");
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).as("seconds it took, dump and restore included").isLessThan(30);
    }

    /**
     * A lazy dump of pd_dirty whose source is gone (a daemon took it and said CLOSE at once), restored lazily with
     * a fake source that misbehaves as {@code fault} says at the first GET; the restored process is asked for its
     * checksum, faults, and the daemon gives up. Returns the daemon's one line, once it has checked that the
     * restored tree is gone.
     */
    private String failureWith(Fault fault) throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target t = Target.start("pd_dirty", dir, Target.Stdio.DEV_NULL, "8", "10")) {
            LazyTrees.LazyDump dump = LazyTrees.LazyDump.start(t.pid(), images);
            try (RemotePages taker = RemotePages.connect(new PageServerEndpoint(InetAddress.getLoopbackAddress(), dump.port(), null))) {
                taker.finish(); // nothing fetched: the source is gone, its pages with it
            }
            dump.await(60);
            assertThat(t.awaitExit(30)).isTrue();
        }
        List<Integer> restored = new ArrayList<>();
        try (TcpSocket listening = TcpSocket.listen(InetAddress.getLoopbackAddress(), 0, 1)) {
            Thread source = new Thread(() -> fakeSource(listening, fault), "fake-source");
            source.setDaemon(true);
            source.start();
            PageServerEndpoint endpoint = new PageServerEndpoint(InetAddress.getLoopbackAddress(), listening.localPort(), null);
            Path socket = work.resolve("lp.sock");
            try (LazyTrees.Daemon daemon = LazyTrees.Daemon.start(images, socket, endpoint, Duration.ofSeconds(1), Duration.ofMinutes(10))) {
                int root = LazyTrees.restoreLazily(images, socket);
                restored.addAll(LazyTrees.tree(root));
                try {
                    dev.cryo.syscalls.Signals.kill(root, SIGUSR1); // its checksum reads every page: the first fault asks the source
                } catch (dev.cryo.syscalls.ErrnoException e) {
                    // ESRCH: the tree faulted on its own first (its resumed code touched a lazy page), and the daemon
                    // killed it already; its line below says the same either way
                    assertThat(e.errno()).as("kill of the restored root").isEqualTo(dev.cryo.syscalls.Kernel.ESRCH);
                }
                String failure;
                try {
                    daemon.await(30);
                    failure = "the daemon ended well";
                } catch (LazyPagesException e) {
                    failure = e.getMessage();
                }
                assertThat(failure).as("the daemon's line").matches("(?s)[^\n]*faulted at 0x[0-9a-f]+; pages were still due, so the"
                        + " restored tree is killed \\(pids \\[.*\\]\\)");
                System.out.println(fault + ": " + failure);
                assertThat(restored).as("tasks of the restored tree left").noneMatch(LazyTrees::alive);
                return failure;
            }
        } finally {
            LazyTrees.kill(restored);
        }
    }

    /** A page source in CRIU's protocol that answers PARENT, then misbehaves at the first GET. */
    private static void fakeSource(TcpSocket listening, Fault fault) {
        try (TcpSocket conn = listening.accept(); Arena a = Arena.ofConfined()) {
            MemorySegment header = a.allocate(32, 8);
            MemorySegment page = a.allocate(4096, 4096);
            while (conn.recvFully(header) == 32) {
                int cmd = header.get(ValueLayout.JAVA_INT, 0) & 0xffff;
                if (cmd == PARENT) {
                    conn.sendFully(a.allocate(4, 4));
                    continue;
                }
                if (cmd != GET) {
                    return;
                }
                long vaddr = header.get(ValueLayout.JAVA_LONG, 16);
                switch (fault) {
                    case WRONG_ADDRESS -> {
                        header.set(ValueLayout.JAVA_INT, 0, ADD_F);
                        header.set(ValueLayout.JAVA_LONG, 8, 1);
                        header.set(ValueLayout.JAVA_LONG, 16, vaddr + 4096);
                        conn.sendFully(header);
                        conn.sendFully(page);
                    }
                    case SHORT_PAGE -> {
                        header.set(ValueLayout.JAVA_INT, 0, ADD_F);
                        header.set(ValueLayout.JAVA_LONG, 8, 1);
                        conn.sendFully(header);
                        conn.sendFully(page.asSlice(0, 1000));
                        return;
                    }
                    case DIES -> {
                        return;
                    }
                    case SILENT -> {
                        // no answer: the next read waits until the daemon gives up and goes
                    }
                }
            }
        } catch (RuntimeException e) {
            // the daemon went away: the test looks at what it said
        }
    }
}
