package dev.cryo.pagexfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.pagexfer.PageSink.Run;
import dev.cryo.syscalls.Page;

/** Pages resolved through a chain of snapshots: pre1 <- pre2 <- dump. */
class PageSourceTest {
    private static final int PID = 77;

    @TempDir
    Path tmp;

    /** Writes a snapshot whose own pages are filled with {@code tag} + page index. */
    private DirectoryImageStore snapshot(String name, String parent, List<Run> runs, int tag) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve(name));
        DirectoryImageStore store = new DirectoryImageStore(dir);
        if (parent != null) {
            store.linkParent(Path.of("../" + parent));
        }
        try (PageSink sink = new ImagePageSink(store, PID, 1); Arena a = Arena.ofConfined()) {
            sink.begin(runs);
            for (Run r : runs) {
                if (!r.inParent()) {
                    MemorySegment data = a.allocate(r.pages() * Page.SIZE);
                    for (long p = 0; p < r.pages(); p++) {
                        data.asSlice(p * Page.SIZE, Page.SIZE).fill((byte) (tag + (r.vaddr() / Page.SIZE + p)));
                    }
                    sink.write(data);
                }
            }
            sink.commit();
        }
        return store;
    }

    private static long page(long n) {
        return 0x10000000L + n * Page.SIZE;
    }

    @Test
    void resolvesEachPageToTheSnapshotThatHoldsIt() throws Exception {
        snapshot("pre1", null, List.of(new Run(page(0), 10), new Run(page(20), 4)), 1);
        snapshot("pre2", "pre1", List.of(new Run(page(0), 3, true), new Run(page(3), 2), new Run(page(5), 5, true),
                new Run(page(20), 4, true)), 2);
        DirectoryImageStore dump = snapshot("dump", "pre2", List.of(new Run(page(0), 4, true), new Run(page(4), 1),
                new Run(page(5), 5, true), new Run(page(20), 2, true)), 3);
        try (PageSource src = PageSource.open(dump, PID)) {
            assertThat(src.depth()).isEqualTo(3);
            List<PageSource.Extent> xs = src.extents();
            assertThat(xs).extracting(PageSource.Extent::vaddr, PageSource.Extent::pages, PageSource.Extent::depth)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple(page(0), 3L, 2),
                            org.assertj.core.groups.Tuple.tuple(page(3), 1L, 1),
                            org.assertj.core.groups.Tuple.tuple(page(4), 1L, 0),
                            org.assertj.core.groups.Tuple.tuple(page(5), 5L, 2),
                            org.assertj.core.groups.Tuple.tuple(page(20), 2L, 2));
            for (PageSource.Extent x : xs) {
                int tag = 3 - x.depth();
                for (long p = 0; p < x.pages(); p++) {
                    byte expected = (byte) (tag + (x.vaddr() / Page.SIZE + p));
                    assertThat(src.bytes(x).get(java.lang.foreign.ValueLayout.JAVA_BYTE, p * Page.SIZE + 100))
                            .as("page 0x%x", x.vaddr() + p * Page.SIZE).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void aPageInParentThatNoParentHoldsIsAClearError() throws Exception {
        snapshot("pre1", null, List.of(new Run(page(0), 2)), 1);
        DirectoryImageStore dump = snapshot("dump", "pre1", List.of(new Run(page(0), 3, true)), 3);
        try (PageSource src = PageSource.open(dump, PID)) {
            assertThatThrownBy(src::extents).hasMessageContaining("has no pages at 0x10002000");
        }
    }

    @Test
    void coverageListsWhatASnapshotHolds() throws Exception {
        DirectoryImageStore s = snapshot("pre1", null, List.of(new Run(page(0), 2), new Run(page(2), 1, false), new Run(page(8), 1)), 1);
        assertThat(PageSource.coverage(s, PID)).containsExactly(new long[] {page(0), page(3)}, new long[] {page(8), page(9)});
        assertThat(PageSource.coverage(s, 999)).isEmpty();
    }
}
