package dev.cryo.migrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.ImageKind;
import dev.cryo.images.RawReader;
import dev.cryo.images.RemoteImageStore;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.Page;

/**
 * A chain of steps through a real proxy and cache (in this JVM, on loopback): the images come back whole,
 * pages resolve through the chain, each page is held once (the newest), and the daemons end when they should.
 */
class ChainThroughDaemonsTest {
    private static final int PID = 4242;
    private static final long BASE = 0x7f0000000000L;

    @TempDir
    Path dir;

    /** Pages whose every byte says which step wrote them and which page they are. */
    private static MemorySegment pages(Arena a, int step, long first, long count) {
        MemorySegment s = a.allocate(count * Page.SIZE, Page.SIZE);
        for (long p = 0; p < count; p++) {
            s.asSlice(p * Page.SIZE, Page.SIZE).fill((byte) (step * 16 + first + p));
        }
        return s;
    }

    /** One step: {@code present} pages of 4 written from {@code first} on, the others left in the parent. */
    private static void step(RemoteImageStore store, RemoteImageStore parent, int step, long first, long present) {
        try (Arena a = Arena.ofConfined(); PageDestination d = PageDestination.images(store, parent);
             PageSink sink = d.open(PagemapType.PROCESS, PID)) {
            List<PageSink.Run> runs = new java.util.ArrayList<>();
            if (first > 0) {
                runs.add(new PageSink.Run(BASE, first, true));
            }
            runs.add(new PageSink.Run(BASE + first * Page.SIZE, present));
            if (first + present < 4) {
                runs.add(new PageSink.Run(BASE + (first + present) * Page.SIZE, 4 - first - present, true));
            }
            sink.begin(parent == null ? List.of(new PageSink.Run(BASE, 4)) : runs);
            sink.write(parent == null ? pages(a, step, 0, 4) : pages(a, step, first, present));
            sink.commit();
            d.commit();
        }
        store.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).build());
        store.complete();
    }

    @Test
    void aChainComesBackWholeWithEachPageHeldOnceAndTheDaemonsEnd() throws Exception {
        try (Daemons d = Daemons.start(dir)) {
            try (RemoteImageStore pre1 = RemoteImageStore.claim(d.proxyDaemon(), "/x/pre1", null, false, null)) {
                step(pre1, null, 1, 0, 4);
            }
            // the second step reads the first one's pagemap from the proxy, which keeps it (but not its pages)
            try (RemoteImageStore pre2 = RemoteImageStore.claim(d.proxyDaemon(), "/x/pre2", "/x/pre1", false, null);
                 RemoteImageStore seen = RemoteImageStore.open(d.proxyDaemon(), "/x/pre1", null)) {
                assertThat(PageSource.coverage(seen, PID)).map(r -> List.of(r[0], r[1])).containsExactly(List.of(BASE, BASE + 4 * Page.SIZE));
                assertThatThrownBy(() -> seen.openRawReader("pages-1.img")).isInstanceOf(RemoteImageException.class)
                        .hasMessageContaining("the image proxy keeps no pages: pages-1.img of /x/pre1 went on to the image cache");
                step(pre2, seen, 2, 1, 2);
            }
            try (RemoteImageStore last = RemoteImageStore.claim(d.proxyDaemon(), "/x/final", "/x/pre2", true, null);
                 RemoteImageStore seen = RemoteImageStore.open(d.proxyDaemon(), "/x/pre2", null)) {
                step(last, seen, 3, 2, 1);
            }
            ImageProxy.Stats proxied = d.proxyEnd.get(30, TimeUnit.SECONDS);
            assertThat(proxied.snapshots()).isEqualTo(3);

            try (RemoteImageStore restore = RemoteImageStore.open(d.cacheDaemon(), "/x/final", null);
                 PageSource src = PageSource.open(restore, PID); Arena a = Arena.ofConfined()) {
                assertThat(src.depth()).isEqualTo(3);
                MemorySegment memory = a.allocate(4 * Page.SIZE);
                for (PageSource.Extent x : src.extents()) {
                    memory.asSlice(x.vaddr() - BASE, x.bytes()).copyFrom(src.bytes(x));
                }
                // page 0 from pre1, page 1 from pre2, page 2 from the dump, page 3 from pre1
                assertThat(new byte[] {memory.get(ValueLayout.JAVA_BYTE, 0), memory.get(ValueLayout.JAVA_BYTE, Page.SIZE),
                        memory.get(ValueLayout.JAVA_BYTE, 2 * Page.SIZE), memory.get(ValueLayout.JAVA_BYTE, 3 * Page.SIZE)})
                        .containsExactly(16, 33, 50, 19);
                assertThat(restore.list()).contains("inventory.img", "pagemap-4242.img", "pages-1.img");
                assertThat(restore.parent().orElseThrow().snapshot()).isEqualTo("/x/pre2");
                // pre1's pages 1 and 2 and pre2's page 2 were superseded: released, and refused if asked for
                try (RemoteImageStore pre1 = RemoteImageStore.open(d.cacheDaemon(), "/x/pre1", null);
                     RawReader r = pre1.openRawReader("pages-1.img"); Arena b = Arena.ofConfined()) {
                    assertThat(r.size()).isEqualTo(4 * Page.SIZE);
                    MemorySegment one = b.allocate(Page.SIZE);
                    r.readFully(one, 3 * Page.SIZE);
                    assertThat(one.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 19);
                    assertThatThrownBy(() -> r.readFully(one, Page.SIZE)).isInstanceOf(RemoteImageException.class)
                            .hasMessageContaining("bytes 4096 to 8192 of pages-1.img of /x/pre1 are no longer held");
                }
                // mapped in place (the cache's memfd, handed over): the same bytes, the same refusal of released ones
                try (RemoteImageStore pre1 = RemoteImageStore.open(d.cacheDaemon(), "/x/pre1", null); Arena b = Arena.ofShared()) {
                    MemorySegment mapped = pre1.mapForReading("pages-1.img", List.of(new long[] {0, Page.SIZE}, new long[] {3 * Page.SIZE, 4 * Page.SIZE}), b)
                            .orElseThrow();
                    assertThat(mapped.byteSize()).isEqualTo(4 * Page.SIZE);
                    assertThat(new byte[] {mapped.get(ValueLayout.JAVA_BYTE, 0), mapped.get(ValueLayout.JAVA_BYTE, 4 * Page.SIZE - 1)})
                            .containsExactly(16, 19);
                    assertThatThrownBy(() -> pre1.mapForReading("pages-1.img", List.of(new long[] {3 * Page.SIZE, 4 * Page.SIZE}, new long[] {Page.SIZE, 3 * Page.SIZE}), b))
                            .isInstanceOf(RemoteImageException.class)
                            .hasMessageContaining("bytes 4096 to 12288 of pages-1.img of /x/pre1, which are no longer held");
                    assertThatThrownBy(() -> pre1.mapForReading("pages-1.img", List.of(new long[] {3 * Page.SIZE, 5 * Page.SIZE}), b))
                            .isInstanceOf(RemoteImageException.class)
                            .hasMessageContaining("bytes 12288 to 20480 of pages-1.img of /x/pre1, which has 16384 bytes");
                    assertThat(pre1.mapForReading("inventory.img", List.of(), b)).as("held in anonymous memory: read as a stream").isEmpty();
                }
                restore.done();
            }
            ImageCache.Stats cached = d.cacheEnd.get(30, TimeUnit.SECONDS);
            assertThat(cached.snapshots()).isEqualTo(3);
            assertThat(cached.releasedBytes()).as("pre1's pages 1 and 2, pre2's page 2").isEqualTo(3 * Page.SIZE);
            assertThat(cached.heldBytes()).isEqualTo(cached.receivedBytes() - cached.releasedBytes());
        }
    }

    @Test
    void aRestoreReadsTheLastDumpsPagesOnceTheirImageIsWholeAndRunsNothingBeforeItIsComplete() throws Exception {
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofShared()) {
            try (RemoteImageStore dump = RemoteImageStore.claim(d.proxyDaemon(), "/x/final", null, true, null);
                 PageDestination dest = PageDestination.images(dump, null);
                 PageSink sink = dest.open(PagemapType.PROCESS, PID)) {
                // the order of a --remote dump: the pagemap published and the pages announced, the inventory, then the pages
                sink.begin(List.of(new PageSink.Run(BASE, 4)));
                sink.publish();
                dump.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).build());
                sink.write(pages(a, 1, 0, 2));
                try (RemoteImageStore restore = RemoteImageStore.open(d.cacheDaemon(), "/x/final", null);
                     PageSource src = PageSource.open(restore, PID)) {
                    assertThat(restore.size("pages-1.img")).as("as announced").isEqualTo(4 * Page.SIZE);
                    assertThat(restore.exists("core-1.img")).as("nothing begins after the inventory").isFalse();
                    assertThat(restore.list()).containsExactly("inventory.img", "pagemap-4242.img", "pages-1.img");
                    PageSource.Extent x = src.extents().getFirst();
                    // the first two pages are there, but the restore reads none of the image before it is whole
                    var read = Daemons.inThread(() -> {
                        MemorySegment arrived = src.bytes(x, 0, 2 * Page.SIZE);
                        MemorySegment rest = src.bytes(x, 2 * Page.SIZE, 2 * Page.SIZE);
                        return new byte[] {arrived.get(ValueLayout.JAVA_BYTE, 0), arrived.get(ValueLayout.JAVA_BYTE, Page.SIZE),
                            rest.get(ValueLayout.JAVA_BYTE, Page.SIZE)};
                    });
                    var settled = Daemons.inThread(() -> {
                        try (RemoteImageStore other = RemoteImageStore.open(d.cacheDaemon(), "/x/final", null)) {
                            other.settle();
                            return true;
                        }
                    });
                    Thread.sleep(200); // they wait for bytes and a completion that have not come; they fail the same if asked later
                    assertThat(read).isNotDone();
                    assertThat(settled).isNotDone();
                    sink.write(pages(a, 1, 2, 2));
                    assertThat(read.get(30, TimeUnit.SECONDS)).containsExactly(16, 17, 19);
                    assertThat(settled).isNotDone();
                    sink.commit();
                    dest.commit();
                    dump.complete();
                    assertThat(settled.get(30, TimeUnit.SECONDS)).isTrue();
                    restore.done();
                }
            }
            assertThat(d.cacheEnd.get(30, TimeUnit.SECONDS).receivedBytes()).isGreaterThan(4 * Page.SIZE);
        }
    }
}
