package dev.cryo.migrate;

import static org.assertj.core.api.Assertions.assertThat;

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
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.Page;

/**
 * A pages image larger than the cache's chunks and the splice pipe, through a real proxy and cache: every page
 * comes back as it was sent, read as a stream and mapped in place.
 */
class LargePagesThroughDaemonsTest {
    private static final int PID = 4343;
    private static final long BASE = 0x7f0000000000L;
    private static final int PAGES = 3000; // 11.7 MiB: chunks of 64 KiB doubling to 4 MiB, pipes of 1 MiB

    @TempDir
    Path dir;

    @Test
    void everyPageOfALargeImageComesBackAsSent() throws Exception {
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofShared()) {
            try (RemoteImageStore dump = RemoteImageStore.claim(d.proxyDaemon(), "/x/final", null, true, null);
                 PageDestination dest = PageDestination.images(dump, null);
                 PageSink sink = dest.open(PagemapType.PROCESS, PID)) {
                MemorySegment pages = a.allocate((long) PAGES * Page.SIZE, Page.SIZE);
                for (long p = 0; p < PAGES; p++) {
                    pages.set(ValueLayout.JAVA_LONG, p * Page.SIZE, p + 1);
                    pages.set(ValueLayout.JAVA_LONG, p * Page.SIZE + Page.SIZE - 8, -(p + 1));
                }
                sink.begin(List.of(new PageSink.Run(BASE, PAGES)));
                sink.write(pages);
                sink.commit();
                dest.commit();
                dump.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).build());
                dump.complete();
            }
            d.proxyEnd.get(30, TimeUnit.SECONDS);
            try (RemoteImageStore restore = RemoteImageStore.open(d.cacheDaemon(), "/x/final", null)) {
                try (RawReader r = restore.openRawReader("pages-1.img")) {
                    assertThat(r.size()).isEqualTo((long) PAGES * Page.SIZE);
                    MemorySegment all = a.allocate((long) PAGES * Page.SIZE, Page.SIZE);
                    r.readFully(all, 0);
                    for (long p = 0; p < PAGES; p++) {
                        assertThat(all.get(ValueLayout.JAVA_LONG, p * Page.SIZE)).as("page %d, streamed", p).isEqualTo(p + 1);
                        assertThat(all.get(ValueLayout.JAVA_LONG, p * Page.SIZE + Page.SIZE - 8)).as("page %d's end, streamed", p).isEqualTo(-(p + 1));
                    }
                }
                MemorySegment mapped = restore.mapForReading("pages-1.img", List.of(new long[] {0, (long) PAGES * Page.SIZE}), a).orElseThrow();
                for (long p = 0; p < PAGES; p++) {
                    assertThat(mapped.get(ValueLayout.JAVA_LONG, p * Page.SIZE)).as("page %d, mapped", p).isEqualTo(p + 1);
                }
                restore.done();
            }
            d.cacheEnd.get(30, TimeUnit.SECONDS);
        }
    }
}
