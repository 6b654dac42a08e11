package dev.cryo.pagepipe;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.FrozenTree;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Tracer;
import dev.cryo.syscalls.Page;
import dev.cryo.testkit.Target;

/**
 * Splice mode on a real task: splice_pages holds 512 patterned pages, one of them unreadable; its parasite
 * vmsplices them into pipes while it is frozen, and cryo drains them after the release.
 */
class SpliceCollectorTest {
    private static final long PAGE = Page.SIZE;
    private static final int PAGES = 512;

    @TempDir
    Path dir;

    @Test
    void pagesComeOutInOrderThroughFewPipesAndAnUnreadablePage() throws Exception {
        try (Target target = Target.start("splice_pages", dir); BufferPool pool = new BufferPool(2, 64 * 1024)) {
            int pid = target.pid();
            long base = Long.parseUnsignedLong(Files.readString(dir.resolve("layout")).strip(), 16);
            List<PageRange> ranges = List.of(new PageRange(base, 40), new PageRange(base + 41 * PAGE, PAGES - 41));
            List<Long> got = new ArrayList<>();
            List<PageRange> gotRanges = new ArrayList<>();
            long[] figures = Tracer.call("test", () -> {
                SpliceCollector c = null;
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid))) {
                    c = new SpliceCollector(p, pool, batch -> {
                        for (long i = 0; i < batch.data().byteSize(); i += PAGE) {
                            got.add(batch.data().get(ValueLayout.JAVA_LONG, i));
                            assertThat(batch.data().get(ValueLayout.JAVA_LONG, i + PAGE - 8)).isEqualTo(~(got.getLast() - 0x1000));
                        }
                        batch.ranges().forEach(r -> PresentPages.add(gotRanges, r.start(), r.end()));
                    }, 2);
                    c.splice(ranges, () -> {});
                }
                try (SpliceCollector drained = c) {
                    drained.drain(() -> {});
                    return new long[] {drained.earlyDrains(), drained.peakPinnedBytes()};
                }
            });
            assertThat(figures[0]).as("pipes drained early for the 2-pipe budget").isGreaterThan(0);
            assertThat(figures[1]).isLessThanOrEqualTo(2 * 64 * 1024);
            List<Long> expected = new ArrayList<>();
            for (long p = 0; p < PAGES; p++) {
                if (p != 40) {
                    expected.add(0x1000 + p);
                }
            }
            assertThat(got).isEqualTo(expected);
            assertThat(gotRanges).isEqualTo(ranges);
            assertThat(target.isAlive()).as("the target after its pages were taken").isTrue();
        }
    }
}
