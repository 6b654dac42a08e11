package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.NetworkLock;
import dev.cryo.syscalls.Proc;
import dev.cryo.testkit.Target;

/**
 * Sockets a dump cannot take are refused in one line that names the pid and the fd, nothing is left in the
 * images directory, and the tree runs on untouched: its own check passes afterwards.
 */
class SocketRefusalsTest {
    @TempDir
    Path work;

    private Path imgDir() throws Exception {
        return Files.createDirectories(work.resolve("img"));
    }

    private static void assertEmpty(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).isEmpty();
        }
    }

    private static int fd(Target t) throws Exception {
        return Integer.parseInt(Files.readString(t.dir().resolve("fd")).trim());
    }

    @Test
    void anEstablishedConnectionWithoutTcpEstablishedIsRefusedWithCriusAdvice() throws Exception {
        Path dir = imgDir();
        try (Target t = Target.start("tcp_established", work.resolve("t"))) {
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir), new Cancellation()))
                    .isInstanceOf(DumpException.class)
                    .hasMessageMatching("cannot dump pid " + t.pid() + " fd \\d+: TCP/IPv4 socket \\d+ \\(127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:\\d+\\):"
                            + " it is a connected TCP socket; consider using --tcp-established")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            assertEmpty(dir);
            assertThat(Proc.status(t.pid(), "TracerPid")).isEqualTo("0");
            assertThat(t.verdict()).as("tcp_established's own check of its connections").isEqualTo("PASS");
        }
    }

    @Test
    void aUnixSocketConnectedOutsideTheTreeNeedsExtUnixSk() throws Exception {
        Path dir = imgDir();
        try (Target t = Target.start("sk_unix_ext", work.resolve("t"))) {
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir), new Cancellation()))
                    .isInstanceOf(DumpException.class)
                    .hasMessageMatching("cannot dump pid " + t.pid() + " fd \\d+: unix socket \\d+: it is connected to socket \\d+ \\("
                            + work.resolve("t/ext.sock") + "\\), outside the tree; dump with --ext-unix-sk to connect it to that name again at restore");
            assertEmpty(dir);
            assertThat(t.verdict()).as("sk_unix_ext's own check: its socket still reaches the peer").isEqualTo("PASS");
        }
    }

    @Test
    void aStreamConnectionToAListenerOutsideTheTreeIsRefusedEvenWithExtUnixSk() throws Exception {
        Path dir = imgDir();
        Path sock = work.resolve("outside.sock");
        try (ServerSocketChannel outside = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            outside.bind(UnixDomainSocketAddress.of(sock));
            try (Target t = Target.start("sk_refused", work.resolve("t"), "unix-to", sock.toString())) {
                assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir).withExtUnixSk(true), new Cancellation()))
                        .isInstanceOf(DumpException.class)
                        .hasMessage("cannot dump pid %d fd %d: unix socket %s: it is one end of a stream connection whose other end, socket %s (%s),"
                                + " is outside the tree, which no restore can bring back (CRIU refuses it too)",
                                t.pid(), fd(t), inode(t.pid(), fd(t)), inodeOf(sock), sock);
                assertEmpty(dir);
                assertThat(t.isAlive()).isTrue();
                assertThat(Proc.status(t.pid(), "TracerPid")).isEqualTo("0");
            }
        }
    }

    @Test
    void netlinkAndPacketSocketsAreRefusedByName() throws Exception {
        for (String kind : new String[] {"netlink", "packet"}) {
            Path dir = Files.createDirectories(work.resolve("img-" + kind));
            try (Target t = Target.start("sk_refused", work.resolve(kind), kind)) {
                assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir), new Cancellation()))
                        .isInstanceOf(DumpException.class)
                        .hasMessage("cannot dump pid %d fd %d: it is a %s socket (socket:[%s]), which cryo cannot dump yet",
                                t.pid(), fd(t), kind, inode(t.pid(), fd(t)));
                assertEmpty(dir);
                assertThat(t.isAlive()).isTrue();
                assertThat(Proc.status(t.pid(), "TracerPid")).isEqualTo("0");
            }
        }
    }

    /**
     * The dump gets as far as locking an established connection and putting it into repair mode, then refuses
     * a netlink socket: the connection is out of repair mode and unlocked before the tree runs on, and carries
     * data both ways, the bytes that waited first.
     */
    @Test
    void aRefusalAfterAConnectionWasLockedPutsItBackToWork() throws Exception {
        Path dir = imgDir();
        try (Target t = Target.start("sk_refused", work.resolve("t"), "tcp-netlink")) {
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir).withTcpEstablished(true), new Cancellation()))
                    .isInstanceOf(DumpException.class)
                    .hasMessageContaining("fd " + fd(t) + ": it is a netlink socket");
            assertEmpty(dir);
            assertThat(NetworkLock.exists("cryo-" + t.pid())).as("the network lock is lifted").isFalse();
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    private static String inode(int pid, int fd) throws Exception {
        String link = Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
        return link.substring(link.indexOf('[') + 1, link.length() - 1);
    }

    private static String inodeOf(Path boundSocket) {
        long vfs;
        try {
            vfs = (long) Files.getAttribute(boundSocket, "unix:ino");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        for (dev.cryo.syscalls.SockDiag.Unix u : dev.cryo.syscalls.SockDiag.unixSockets().values()) {
            if (u.vfsIno() == vfs && u.state() == 10) {
                return Long.toString(u.ino());
            }
        }
        throw new AssertionError("no listener bound to " + boundSocket);
    }
}
