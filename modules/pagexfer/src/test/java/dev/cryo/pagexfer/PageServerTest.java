package dev.cryo.pagexfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.pagexfer.PageSink.Run;
import dev.cryo.syscalls.Page;

/** Pages sent through a page server land as a local dump would write them, parent chains included. */
class PageServerTest {

    @TempDir
    Path tmp;

    private static long page(long n) {
        return 0x7f0000000000L + n * Page.SIZE;
    }

    /** Fills {@code pages} pages with bytes that say which page of which step they are. */
    private static MemorySegment pattern(Arena a, long firstPage, long pages, int step) {
        MemorySegment m = a.allocate(pages * Page.SIZE, Page.SIZE);
        for (long p = 0; p < pages; p++) {
            m.asSlice(p * Page.SIZE, Page.SIZE).fill((byte) (step * 31 + firstPage + p));
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, p * Page.SIZE, (firstPage + p) * 1000 + step);
        }
        return m;
    }

    /** Sends process {@code pid}'s runs to {@code dest}, the bytes of the present ones in chunks of 3 pages. */
    private static void send(PageDestination dest, int pid, List<Run> runs, int step) {
        try (PageSink sink = dest.open(PagemapType.PROCESS, pid); Arena a = Arena.ofConfined()) {
            sink.begin(runs);
            for (Run r : runs) {
                if (r.carriesBytes()) {
                    long first = (r.vaddr() - page(0)) / Page.SIZE;
                    MemorySegment data = pattern(a, first, r.pages(), step);
                    for (long at = 0; at < data.byteSize(); at += 3 * Page.SIZE) {
                        sink.write(data.asSlice(at, Math.min(3 * Page.SIZE, data.byteSize() - at)));
                    }
                }
            }
            sink.commit();
        }
    }

    /** Each page of {@code pid} as the images in {@code dir} resolve it: the long at its start. */
    private static List<Long> pagesOf(Path dir, int pid) {
        List<Long> out = new ArrayList<>();
        try (PageSource src = PageSource.open(new DirectoryImageStore(dir), pid)) {
            for (PageSource.Extent x : src.extents()) {
                MemorySegment b = src.bytes(x);
                for (long p = 0; p < x.pages(); p++) {
                    out.add(((x.vaddr() - page(0)) / Page.SIZE + p) * 1_000_000 + b.get(ValueLayout.JAVA_LONG_UNALIGNED, p * Page.SIZE));
                }
            }
        }
        return out;
    }

    @Test
    void pagesThroughTheServerReadBackAsFromALocalDump() throws Exception {
        Path local = Files.createDirectory(tmp.resolve("local"));
        Path served = Files.createDirectory(tmp.resolve("served"));
        Path client = Files.createDirectory(tmp.resolve("client"));
        List<Run> a = List.of(new Run(page(0), 5), new Run(page(9), 1), new Run(page(100), 40));
        List<Run> b = List.of(new Run(page(3), 2));
        try (PageDestination d = PageDestination.images(new DirectoryImageStore(local), null)) {
            send(d, 10, a, 1);
            send(d, 11, b, 1);
            d.commit();
        }
        try (RunningServer s = RunningServer.start(served);
             PageDestination d = PageDestination.pageServer(s.endpoint(), new DirectoryImageStore(client), null, null)) {
            send(d, 10, a, 1);
            send(d, 11, b, 1);
            d.commit();
            d.close();
            assertThat(s.session().images()).isEqualTo(2);
        }
        assertThat(pagesOf(served, 10)).isEqualTo(pagesOf(local, 10)).hasSize(46);
        assertThat(pagesOf(served, 11)).isEqualTo(pagesOf(local, 11)).hasSize(2);
        int pagesId = new DirectoryImageStore(served).readEntry(ImageKind.PAGEMAP, 10, PagemapHead.parser()).getPagesId();
        assertThat(pagesId).as("CRIU's page server numbers its pages images from 0x10001").isEqualTo(0x10001);
        assertThat(Files.readString(client.resolve("cryo-page-server.txt")))
                .contains("10 " + Long.toHexString(page(0)) + " " + Long.toHexString(page(5)))
                .contains("11 " + Long.toHexString(page(3)) + " " + Long.toHexString(page(5)));
    }

    @Test
    void aChainLeavesUnchangedPagesInTheServersParent() throws Exception {
        Path s1 = Files.createDirectory(tmp.resolve("s1")), s2 = Files.createDirectory(tmp.resolve("s2"));
        Path c1 = Files.createDirectory(tmp.resolve("c1")), c2 = Files.createDirectory(tmp.resolve("c2"));
        new DirectoryImageStore(c2).linkParent(Path.of("../c1"));
        try (RunningServer s = RunningServer.start(s1);
             PageDestination d = PageDestination.pageServer(s.endpoint(), new DirectoryImageStore(c1), null, null)) {
            send(d, 10, List.of(new Run(page(0), 8)), 1);
            d.commit();
        }
        try (RunningServer s = RunningServer.start(s2, Path.of("../s1"), null);
             PageDestination d = PageDestination.pageServer(s.endpoint(), new DirectoryImageStore(c2),
                     new DirectoryImageStore(c1), null)) {
            assertThat(d.parentHolds(10)).containsExactly(new long[] {page(0), page(8)});
            send(d, 10, List.of(new Run(page(0), 2, true), new Run(page(2), 1), new Run(page(3), 5, true)), 2);
            d.commit();
            d.close();
            s.session();
        }
        assertThat(Files.readSymbolicLink(s2.resolve("parent"))).isEqualTo(Path.of("../s1"));
        List<Long> expected = new ArrayList<>();
        for (long p = 0; p < 8; p++) {
            expected.add(p * 1_000_000 + p * 1000 + (p == 2 ? 2 : 1));
        }
        assertThat(pagesOf(s2, 10)).isEqualTo(expected);
    }

    @Test
    void aServerWithoutTheParentGetsEveryPage() throws Exception {
        Path s1 = Files.createDirectory(tmp.resolve("s1")), s2 = Files.createDirectory(tmp.resolve("s2"));
        Path c1 = Files.createDirectory(tmp.resolve("c1")), c2 = Files.createDirectory(tmp.resolve("c2"));
        try (RunningServer s = RunningServer.start(s1);
             PageDestination d = PageDestination.pageServer(s.endpoint(), new DirectoryImageStore(c1), null, null)) {
            send(d, 10, List.of(new Run(page(0), 8)), 1);
            d.commit();
        }
        // started without --prev-images-dir: it answers PARENT with 0, so nothing may be left in a parent
        try (RunningServer s = RunningServer.start(s2);
             PageDestination d = PageDestination.pageServer(s.endpoint(), new DirectoryImageStore(c2),
                     new DirectoryImageStore(c1), null)) {
            assertThat(d.parentHolds(10)).isEmpty();
            d.commit();
        }
    }

    @Test
    void aDumpThatEndsWithoutCloseLeavesNothingOnTheServer() throws Exception {
        Path served = Files.createDirectory(tmp.resolve("served"));
        try (RunningServer s = RunningServer.start(served)) {
            try (PageDestination d = PageDestination.pageServer(s.endpoint(), new DirectoryImageStore(Files.createDirectory(tmp.resolve("c"))), null, null)) {
                send(d, 10, List.of(new Run(page(0), 8)), 1);
                send(d, 11, List.of(new Run(page(0), 8)), 1);
                // no commit: the dump failed after these
            }
            assertThat(s.failure()).matches("127\\.0\\.0\\.1:\\d+: the connection ended before CLOSE: the dump is incomplete");
        }
        try (Stream<Path> left = Files.list(served)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void aServerThatDiesMidTransferFailsTheSendInOneLine() throws Exception {
        try (java.net.ServerSocket fake = new java.net.ServerSocket(0, 1, RunningServer.LOOPBACK)) {
            Thread dying = new Thread(() -> {
                try (java.net.Socket c = fake.accept()) {
                    c.getInputStream().readNBytes(32);      // OPEN2
                    c.getOutputStream().write(0);           // no parent
                    c.getInputStream().readNBytes(100_000); // some pages, then it dies
                    c.setSoLinger(true, 0);                 // a reset, as a killed process's socket gives
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            dying.start();
            try (PageDestination d = PageDestination.pageServer(new PageServerEndpoint(RunningServer.LOOPBACK, fake.getLocalPort(), null),
                    new DirectoryImageStore(Files.createDirectory(tmp.resolve("c"))), null, null)) {
                assertThatThrownBy(() -> send(d, 10, List.of(new Run(page(0), 25_600)), 1))
                        .isInstanceOf(PageServerException.class)
                        .hasMessageMatching("page server 127\\.0\\.0\\.1:\\d+: the connection is lost: .* \\(sending pagemap-10\\.img\\)");
            }
            dying.join();
        }
    }
}
