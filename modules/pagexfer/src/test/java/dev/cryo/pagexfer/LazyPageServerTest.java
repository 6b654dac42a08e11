package dev.cryo.pagexfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.cryo.syscalls.Page;

/**
 * The lazy pages of a dump, served GET by GET: the bytes asked for, cut where the lazy range ends, and nothing
 * but them: a GET outside every range the dump left lazy ends the session with one line on both sides.
 */
class LazyPageServerTest {
    private static final int PID = 42;
    private static final long START = 0x7f00_0000_0000L;

    /** Memory for the server to serve: page i of process PID at START + i * PAGE holds the byte i + 1 throughout. */
    private static void fill(int pid, long vaddr, MemorySegment into) {
        for (long at = 0; at < into.byteSize(); at += Page.SIZE) {
            into.asSlice(at, Page.SIZE).fill((byte) ((vaddr + at - START) / Page.SIZE + 1));
        }
    }

    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path pki;

    @Test
    void getsGoOverTlsAsOverPlainTcp() throws Exception {
        dev.cryo.testkit.TestPki ca = dev.cryo.testkit.TestPki.ca(pki, "lazy");
        dev.cryo.testkit.TestPki.Issued s = ca.issue("server", "127.0.0.1");
        dev.cryo.testkit.TestPki.Issued c = ca.issue("client", null);
        try (LazyPageServer server = LazyPageServer.listen(InetAddress.getLoopbackAddress(), 0, new Tls(s.caCert(), s.cert(), s.key(), true));
             Arena a = Arena.ofConfined()) {
            CompletableFuture<LazyPageServer.Session> session = serve(server);
            MemorySegment buf = a.allocate(8 * Page.SIZE, Page.SIZE);
            Tls tls = new Tls(c.caCert(), c.cert(), c.key(), true);
            try (RemotePages pages = RemotePages.connect(new PageServerEndpoint(InetAddress.getLoopbackAddress(), server.port(), tls))) {
                assertThat(pages.get(PID, START, 8, buf)).isEqualTo(8);
                assertThat(buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 7 * Page.SIZE + 4095)).isEqualTo((byte) 8);
                pages.finish();
            }
            assertThat(session.get(10, TimeUnit.SECONDS).bytes()).isEqualTo(8 * Page.SIZE);
        }
    }

    /** A server on loopback with PID's range [START, START + 8 pages) lazy, serving in a thread; its session's end. */
    private static CompletableFuture<LazyPageServer.Session> serve(LazyPageServer server) {
        CompletableFuture<LazyPageServer.Session> session = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                server.accept(() -> { });
                session.complete(server.serve(Map.of(PID, List.of(new long[] {START, START + 8 * Page.SIZE})), LazyPageServerTest::fill));
            } catch (Throwable e) {
                session.completeExceptionally(e);
            }
        }, "lazy-page-server");
        t.setDaemon(true);
        t.start();
        return session;
    }

    @Test
    void getsAskedAheadAreAnsweredInOrderEachWithItsOwnPages() throws Exception {
        try (LazyPageServer server = LazyPageServer.listen(InetAddress.getLoopbackAddress(), 0, null);
             Arena a = Arena.ofConfined()) {
            CompletableFuture<LazyPageServer.Session> session = serve(server);
            MemorySegment buf = a.allocate(4 * Page.SIZE, Page.SIZE);
            try (RemotePages pages = RemotePages.connect(new PageServerEndpoint(InetAddress.getLoopbackAddress(), server.port(), null))) {
                // three GETs on the wire before the first answer is read, as the daemon's background asks them
                pages.ask(PID, START + 6 * Page.SIZE, 2);
                pages.ask(PID, START, 4);
                pages.ask(PID, START + 4 * Page.SIZE, 2);
                StringBuilder got = new StringBuilder();
                long[][] asked = {{6, 2}, {0, 4}, {4, 2}};
                for (long[] g : asked) {
                    long n = pages.answer(PID, START + g[0] * Page.SIZE, g[1], buf);
                    for (long i = 0; i < n; i++) {
                        got.append(buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i * Page.SIZE + Page.SIZE - 1)).append(' ');
                    }
                }
                assertThat(got.toString().trim()).as("last byte of each page answered, in the order asked").isEqualTo("7 8 1 2 3 4 5 6");
                pages.finish();
            }
            assertThat(session.get(10, TimeUnit.SECONDS).gets()).isEqualTo(3);
        }
    }

    @Test
    void aGetIsAnsweredWithThePagesAskedForCutWhereTheLazyRangeEnds() throws Exception {
        try (LazyPageServer server = LazyPageServer.listen(InetAddress.getLoopbackAddress(), 0, null);
             Arena a = Arena.ofConfined()) {
            CompletableFuture<LazyPageServer.Session> session = serve(server);
            MemorySegment buf = a.allocate(16 * Page.SIZE, Page.SIZE);
            try (RemotePages pages = RemotePages.connect(new PageServerEndpoint(InetAddress.getLoopbackAddress(), server.port(), null))) {
                long got = pages.get(PID, START + 5 * Page.SIZE, 16, buf);
                assertThat(got).as("pages answered for 16 asked at page 5 of 8").isEqualTo(3);
                for (int i = 0; i < 3; i++) {
                    assertThat(buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i * Page.SIZE + 100)).isEqualTo((byte) (6 + i));
                }
                pages.finish();
            }
            assertThat(session.get(10, TimeUnit.SECONDS).pages()).isEqualTo(3);
        }
    }

    @Test
    void aGetOutsideEveryLazyRangeEndsTheSessionOnBothSides() throws Exception {
        try (LazyPageServer server = LazyPageServer.listen(InetAddress.getLoopbackAddress(), 0, null);
             Arena a = Arena.ofConfined()) {
            CompletableFuture<LazyPageServer.Session> session = serve(server);
            MemorySegment buf = a.allocate(Page.SIZE, Page.SIZE);
            try (RemotePages pages = RemotePages.connect(new PageServerEndpoint(InetAddress.getLoopbackAddress(), server.port(), null))) {
                assertThatThrownBy(() -> pages.get(PID, START + 8 * Page.SIZE, 1, buf))
                        .isInstanceOf(PageServerException.class)
                        .hasMessageContaining("the connection ended before the answer to GET pid 42 at 0x7f0000008000");
            }
            assertThatThrownBy(() -> session.get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(PageServerException.class)
                    .hasMessageEndingWith("GET for pid 42 at 0x7f0000008000, outside every range it left lazy");
        }
    }
}
