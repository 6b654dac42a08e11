package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.bindings.Linux;

/** sock_diag tells each socket's name, peer, waiting connections, queues and shutdown, as cryo's dump needs them. */
class SockDiagTest {
    @TempDir
    Path dir;

    private static long ino(Fd fd) {
        String link = Io.readlink("/proc/self/fd/" + fd.fd());
        return Long.parseLong(link.substring(link.indexOf('[') + 1, link.length() - 1));
    }

    @Test
    void aListenerItsWaitingConnectionAndAPairAreSeenAsTheyAre() throws Exception {
        Path path = dir.resolve("listener.sock");
        try (Arena a = Arena.ofConfined(); Fd listener = Sockets.socket(Linux.AF_UNIX(), Linux.SOCK_STREAM(), 0);
             Fd client = Sockets.socket(Linux.AF_UNIX(), Linux.SOCK_STREAM(), 0)) {
            byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
            Sockets.bind(listener, SocketAddress.unix(a, name));
            Sockets.listen(listener, 7);
            Sockets.connect(client, SocketAddress.unix(a, name));
            Fd[] pair = Sockets.pair(Linux.SOCK_DGRAM());
            try {
                Sockets.sendNow(pair[0], a.allocate(5));
                Sockets.shutdown(pair[1], Linux.SHUT_WR());
                Map<Long, SockDiag.Unix> all = SockDiag.unixSockets();
                SockDiag.Unix l = all.get(ino(listener));
                assertThat(l.state()).isEqualTo(Linux.TCP_LISTEN());
                assertThat(l.displayName()).isEqualTo(path.toString());
                assertThat(l.vfsIno()).isEqualTo((long) Files.getAttribute(path, "unix:ino"));
                assertThat(l.icons()).containsExactly(ino(client));
                assertThat(l.rqlen()).isEqualTo(1);
                assertThat(l.wqlen()).isEqualTo(7);
                SockDiag.Unix end0 = all.get(ino(pair[0])), end1 = all.get(ino(pair[1]));
                assertThat(end0.peer()).isEqualTo(ino(pair[1]));
                assertThat(end1.peer()).isEqualTo(ino(pair[0]));
                assertThat(end1.type()).isEqualTo(Linux.SOCK_DGRAM());
                assertThat(end1.rqlen()).isEqualTo(5);
                assertThat(end1.shutdown()).isEqualTo(2);
                assertThat(end0.bound()).isFalse();
            } finally {
                pair[0].close();
                pair[1].close();
            }
        }
    }

    @Test
    void aTcpListenerIsSeenWithItsAddressAndBacklog() {
        try (Arena a = Arena.ofConfined(); Fd l = Sockets.socket(Linux.AF_INET(), Linux.SOCK_STREAM(), 0)) {
            Sockets.bind(l, SocketAddress.inet(a, Linux.AF_INET(), new byte[] {127, 0, 0, 1}, 0));
            Sockets.listen(l, 9);
            SockDiag.Inet s = SockDiag.inetSockets(Linux.IPPROTO_TCP()).get(ino(l));
            assertThat(s.state()).isEqualTo(Linux.TCP_LISTEN());
            assertThat(s.src()).containsExactly(127, 0, 0, 1);
            assertThat(s.srcPort()).isPositive();
            assertThat(s.wqueue()).isEqualTo(9);
            assertThat(s.describe()).startsWith("127.0.0.1:" + s.srcPort());
        }
    }
}
