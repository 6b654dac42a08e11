package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.cryo.bindings.Linux;

/**
 * An established loopback connection moves from one socket to a fresh one through TCP_REPAIR: the bytes
 * waiting in its receive queue, those sent but not acknowledged (the peer's packets dropped by the network
 * lock meanwhile) and those never sent all arrive, in order, and the connection carries on both ways. The
 * old socket closes silently: the peer sees neither FIN nor RST.
 */
class TcpStreamTest {
    private static final byte[] LOOPBACK = {127, 0, 0, 1};

    @Test
    void anEstablishedConnectionMovesToAFreshSocketWithItsQueues() throws Exception {
        String table = "cryo-test-" + ProcessHandle.current().pid();
        try (Arena a = Arena.ofConfined(); Fd listener = Sockets.socket(Linux.AF_INET(), Linux.SOCK_STREAM(), 0);
             Fd client = Sockets.socket(Linux.AF_INET(), Linux.SOCK_STREAM(), 0)) {
            Sockets.bind(listener, SocketAddress.inet(a, Linux.AF_INET(), LOOPBACK, 0));
            Sockets.listen(listener, 1);
            int port = port(Sockets.localAddress(listener));
            Sockets.connect(client, SocketAddress.inet(a, Linux.AF_INET(), LOOPBACK, port));
            Fd server = Sockets.accept(listener);
            int clientPort = port(Sockets.localAddress(client));
            NetworkLock.Connection conn = new NetworkLock.Connection(LOOPBACK, port, LOOPBACK, clientPort);
            try {
                send(client, "waiting for the server");
                awaitQueued(server, 22);
                NetworkLock.lock(table, conn);
                send(server, "sent while locked");          // sent, never acknowledged
                Tcp.repair(server, true);
                TcpStream.State s = TcpStream.save(server, a);
                assertThat(s.tcpState()).isEqualTo(Linux.TCP_ESTABLISHED());
                assertThat(text(s.inq())).isEqualTo("waiting for the server");
                assertThat(text(s.outq())).isEqualTo("sent while locked");
                server.close(); // in repair mode: no FIN, no RST
                try (Fd again = Sockets.socket(Linux.AF_INET(), Linux.SOCK_STREAM(), 0)) {
                    Tcp.repair(again, true);
                    TcpStream.rebuild(again, s, SocketAddress.inet(a, Linux.AF_INET(), LOOPBACK, port),
                            SocketAddress.inet(a, Linux.AF_INET(), LOOPBACK, clientPort));
                    TcpStream.resume(again, s);
                    assertThat(NetworkLock.unlock(table)).isTrue();
                    assertThat(receive(again, 22)).isEqualTo("waiting for the server");
                    assertThat(receive(client, 17)).isEqualTo("sent while locked");
                    send(client, "ping");
                    assertThat(receive(again, 4)).isEqualTo("ping");
                    send(again, "pong");
                    assertThat(receive(client, 4)).isEqualTo("pong");
                }
            } finally {
                NetworkLock.unlock(table);
                server.close();
            }
        }
    }

    private static int port(byte[] sockaddr) {
        return ((sockaddr[2] & 0xff) << 8) | (sockaddr[3] & 0xff);
    }

    private static void send(Fd s, String text) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocateFrom(ValueLayout.JAVA_BYTE, text.getBytes(StandardCharsets.UTF_8));
            assertThat(Sockets.sendNow(s, m)).isEqualTo(m.byteSize());
        }
    }

    private static void awaitQueued(Fd s, int bytes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (Sockets.ioctlInt(s, "SIOCINQ", Linux.SIOCINQ()) < bytes && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
    }

    /** Reads exactly {@code n} bytes, waiting (10 s at most) for the peer's retransmission. */
    private static String receive(Fd s, int n) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tv = a.allocate(16);
            tv.set(ValueLayout.JAVA_LONG, 0, 10);
            Sockets.setOption(s, Linux.SOL_SOCKET(), Linux.SO_RCVTIMEO(), tv);
            MemorySegment buf = a.allocate(n);
            long got = 0;
            while (got < n) {
                long r = Syscall.call("recvfrom", Linux.__NR_recvfrom(), s.fd(), buf.address() + got, n - got, 0, 0, 0);
                if (r == 0) {
                    break;
                }
                got += r;
            }
            return text(buf.asSlice(0, got));
        }
    }

    private static String text(MemorySegment m) {
        return new String(m.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }
}
