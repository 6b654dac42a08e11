package dev.cryo.pagexfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.pagexfer.PageSink.Run;
import dev.cryo.testkit.TestPki;

/** The page server over TLS: pages arrive intact; a plain client and a client of another CA are refused in one line. */
class TlsTest {
    private static final long VADDR = 0x7f0000000000L;

    @TempDir
    static Path pki;
    static Tls server;
    static Tls client;
    static Tls stranger;

    @TempDir
    Path tmp;

    @BeforeAll
    static void certificates() throws Exception {
        TestPki ca = TestPki.ca(pki, "cryo");
        server = tls(ca.issue("server", "127.0.0.1"));
        client = tls(ca.issue("client", null));
        Tls foreign = tls(TestPki.ca(pki, "other").issue("client", null));
        // trusts cryo's CA, so it accepts the server; its own certificate is signed by the other CA
        stranger = new Tls(ca.cert(), foreign.cert(), foreign.key(), true);
    }

    private static Tls tls(TestPki.Issued i) {
        return new Tls(i.caCert(), i.cert(), i.key(), true);
    }

    private PageDestination connect(RunningServer s, Tls tls) throws Exception {
        return PageDestination.pageServer(new PageServerEndpoint(RunningServer.LOOPBACK, s.port(), tls),
                new DirectoryImageStore(Files.createDirectories(tmp.resolve("client"))), null, null);
    }

    private static void send(PageDestination d, long pages) {
        try (PageSink sink = d.open(PagemapType.PROCESS, 42); Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(pages * 4096, 4096);
            for (long p = 0; p < pages; p++) {
                data.set(ValueLayout.JAVA_LONG, p * 4096, p * 7 + 1);
            }
            sink.begin(List.of(new Run(VADDR, pages)));
            sink.write(data);
            sink.commit();
        }
    }

    @Test
    void pagesArriveIntactOverTls() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("served"));
        try (RunningServer s = RunningServer.start(dir, null, server)) {
            try (PageDestination d = connect(s, client)) {
                send(d, 300);
                d.commit();
            }
            assertThat(s.session().pages()).isEqualTo(300);
        }
        try (PageSource src = PageSource.open(new DirectoryImageStore(dir), 42)) {
            MemorySegment bytes = src.bytes(src.extents().getFirst());
            assertThat(bytes.byteSize()).isEqualTo(300 * 4096);
            for (long p = 0; p < 300; p++) {
                assertThat(bytes.get(ValueLayout.JAVA_LONG, p * 4096)).isEqualTo(p * 7 + 1);
            }
        }
    }

    @Test
    void aTlsServerRefusesAPlainClient() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("served"));
        try (RunningServer s = RunningServer.start(dir, null, server)) {
            try (PageDestination d = connect(s, null)) {
                assertThatThrownBy(() -> {
                    send(d, 4);
                    d.commit();
                }).isInstanceOf(RuntimeException.class);
            }
            assertThat(s.failure()).matches("127\\.0\\.0\\.1:\\d+: not a TLS client \\(its first bytes are no TLS handshake\\)");
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void aTlsServerRefusesAClientItsCaDidNotSign() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("served"));
        try (RunningServer s = RunningServer.start(dir, null, server)) {
            assertThatThrownBy(() -> {
                try (PageDestination d = connect(s, stranger)) {
                    send(d, 4);
                    d.commit();
                }
            }).isInstanceOf(PageServerException.class);
            assertThat(s.failure()).matches("127\\.0\\.0\\.1:\\d+: TLS refused: the client's certificate is not signed by the CA cryo trusts");
        }
    }

    @Test
    void aClientRefusesAServerWhoseCertificateNamesAnotherAddress() throws Exception {
        Tls elsewhere = tls(TestPki.ca(tmp, "third").issue("server", "10.9.9.9"));
        Path dir = Files.createDirectory(tmp.resolve("served"));
        try (RunningServer s = RunningServer.start(dir, null, new Tls(client.caCert(), elsewhere.cert(), elsewhere.key(), true))) {
            assertThatThrownBy(() -> connect(s, new Tls(elsewhere.caCert(), client.cert(), client.key(), true)))
                    .isInstanceOf(PageServerException.class)
                    .hasMessageContaining("the server's certificate does not name this address");
        }
    }

    /**
     * CRIU's TLS server reads a run's pages in 64 KiB chunks counted from the run's start, record by record, and
     * loses its place when a record crosses a chunk's end: records are cut at multiples of 16 KiB from the run's
     * start, however the pages come in (here 7 pages, then 33).
     */
    @Test
    void recordsOfARunNeverCrossA16KiBBoundaryOfTheRun() throws Exception {
        try (dev.cryo.syscalls.TcpSocket listening = dev.cryo.syscalls.TcpSocket.listen(RunningServer.LOOPBACK, 0, 1)) {
            java.util.concurrent.CompletableFuture<List<Long>> records = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try (dev.cryo.syscalls.TcpSocket c = listening.accept();
                     dev.cryo.pagexfer.internal.Wire w = dev.cryo.pagexfer.internal.TlsWire.server(
                             new dev.cryo.pagexfer.internal.PlainWire(c, false, null, null), dev.cryo.pagexfer.internal.TlsContexts.forServer(server));
                     Arena a = Arena.ofConfined()) {
                    MemorySegment buf = a.allocate(1 << 20);
                    w.recvFully(buf.asSlice(0, 32));                       // OPEN2
                    w.send(buf.asSlice(0, 1).fill((byte) 0));
                    w.push();
                    w.recvFully(buf.asSlice(0, 32));                       // ADD_F of 40 pages
                    List<Long> sizes = new java.util.ArrayList<>();
                    for (long got = 0; got < 40 * 4096; ) {
                        long n = w.recv(buf);                              // one record's plaintext at a time
                        sizes.add(n);
                        got += n;
                    }
                    return sizes;
                }
            }, r -> new Thread(r).start());
            try (PageDestination d = PageDestination.pageServer(new PageServerEndpoint(RunningServer.LOOPBACK, listening.localPort(), client),
                    new DirectoryImageStore(Files.createDirectories(tmp.resolve("client"))), null, null);
                 PageSink sink = d.open(PagemapType.PROCESS, 42); Arena a = Arena.ofConfined()) {
                MemorySegment data = a.allocate(40 * 4096, 4096);
                sink.begin(List.of(new Run(VADDR, 40)));
                sink.write(data.asSlice(0, 7 * 4096));
                sink.write(data.asSlice(7 * 4096));
                List<Long> sizes = records.get(30, java.util.concurrent.TimeUnit.SECONDS);
                long at = 0;
                for (long n : sizes) {
                    assertThat(at / 16384).as("record of %d bytes at %d of the run, in %s", n, at, sizes).isEqualTo((at + n - 1) / 16384);
                    at += n;
                }
            }
        }
    }
}
