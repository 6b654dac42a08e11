package dev.cryo.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.pagexfer.Tls;
import dev.cryo.pagexfer.internal.PlainWire;
import dev.cryo.pagexfer.internal.ServerSession;
import dev.cryo.pagexfer.internal.TlsContexts;
import dev.cryo.pagexfer.internal.TlsWire;
import dev.cryo.pagexfer.internal.Wire;
import dev.cryo.syscalls.TcpSocket;

/**
 * The page-server transfer itself, over loopback: one operation is one pagemap of {@value #PAGES} pages
 * (1 MiB), opened with OPEN2 (a round trip) and sent as runs of {@code batch} pages, each an ADD_F command
 * and its bytes, from an off-heap buffer. The receiver is cryo's server session, writing into a store that
 * keeps nothing (the disk is not measured here). Throughput in pages/s; corked (CRIU's way since 2015: cork
 * for the whole session, push each command that waits for an answer) against a socket left as the kernel
 * makes it (Nagle on); plain against TLS.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 3) // TLS's code (AES-GCM intrinsics) takes ~10 s to be compiled
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
@State(Scope.Benchmark)
public class PageTransferBench {
    static final int PAGES = 256;
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Param({"1", "16", "256"})
    public int batch;

    @Param({"true", "false"})
    public boolean cork;

    @Param({"false", "true"})
    public boolean tls;

    private Path work;
    private Tls serverTls;
    private Tls clientTls;
    private Arena arena;
    private MemorySegment pages;
    private List<PageSink.Run> runs;
    private TcpSocket listening;
    private CompletableFuture<ServerSession.Result> served;
    private PageDestination dest;
    private long id;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        work = Files.createTempDirectory("cryo-bench-xfer");
        if (tls) {
            dev.cryo.testkit.TestPki ca = dev.cryo.testkit.TestPki.ca(work, "bench");
            var s = ca.issue("server", "127.0.0.1");
            var c = ca.issue("client", null);
            serverTls = new Tls(s.caCert(), s.cert(), s.key(), true);
            clientTls = new Tls(c.caCert(), c.cert(), c.key(), true);
        }
        arena = Arena.ofShared();
        pages = arena.allocate(PAGES * 4096L, 4096);
        for (long i = 0; i < pages.byteSize(); i += 8) {
            pages.set(java.lang.foreign.ValueLayout.JAVA_LONG, i, i * 0x9e3779b97f4a7c15L);
        }
        runs = new ArrayList<>();
        for (int at = 0; at < PAGES; at += batch) {
            runs.add(new PageSink.Run(0x7f0000000000L + at * 4096L, batch));
        }
    }

    /** A connection per iteration, to a server session on a thread of its own. */
    @Setup(Level.Iteration)
    public void connect() {
        listening = TcpSocket.listen(LOOPBACK, 0, 1);
        javax.net.ssl.SSLContext ctx = tls ? TlsContexts.forServer(serverTls) : null;
        served = CompletableFuture.supplyAsync(() -> {
            try (TcpSocket conn = listening.accept()) {
                conn.noDelay(true);
                PlainWire raw = new PlainWire(conn, false, null, null);
                try (Wire w = tls ? TlsWire.server(raw, ctx) : raw) {
                    long[] next = {0x10001};
                    return new ServerSession(w, new DiscardingStore(), null, () -> next[0]++).run();
                }
            }
        }, r -> new Thread(r, "bench-page-server").start());
        try {
            dest = PageDestination.pageServer(new PageServerEndpoint(LOOPBACK, listening.localPort(), tls ? clientTls : null).withCork(cork),
                    new DirectoryImageStore(work), null, null);
        } catch (RuntimeException e) {
            listening.close();
            throw e;
        }
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public void pagemapOf1MiB() {
        try (PageSink sink = dest.open(PagemapType.PROCESS, ++id)) {
            sink.begin(runs);
            for (int i = 0; i < runs.size(); i++) {
                sink.write(pages.asSlice(i * (long) batch * 4096, batch * 4096L));
            }
            sink.commit();
        }
    }

    @TearDown(Level.Iteration)
    public void disconnect() throws Exception {
        PageDestination d = dest;
        TcpSocket l = listening;
        try (d; l) {
            d.commit();
        }
        served.get(60, TimeUnit.SECONDS);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        arena.close();
        try (var s = Files.walk(work)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
