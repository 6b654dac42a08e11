package dev.cryo.pagepipe;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.cryo.bindings.Linux;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Syscall;

/**
 * Splice mode on cryo's own process: the "task" is the test JVM itself, so vmsplice, pipe2 and close run for
 * real, here, and pidfd_getfd takes the pipes from this very process.
 */
class SpliceCollectorTest {
    private static final long PAGE = PageRange.PAGE_SIZE;

    /** TaskCalls that run in the calling process, with a scratch mapping of its own. */
    static final class Self implements TaskCalls, AutoCloseable {
        private final Mapping scratch = Mapping.anonymous(256 * 1024);

        @Override
        public int pid() {
            return (int) ProcessHandle.current().pid();
        }

        @Override
        public long syscall(String name, long nr, long... a) {
            long[] x = java.util.Arrays.copyOf(a, 6);
            return Syscall.call(name, nr, x[0], x[1], x[2], x[3], x[4], x[5]);
        }

        @Override
        public long scratch() {
            return scratch.address();
        }

        @Override
        public long scratchSize() {
            return scratch.length();
        }

        @Override
        public void writeScratch(long offset, MemorySegment data) {
            scratch.segment().asSlice(offset, data.byteSize()).copyFrom(data);
        }

        @Override
        public void readScratch(long offset, MemorySegment into) {
            into.copyFrom(scratch.segment().asSlice(offset, into.byteSize()));
        }

        @Override
        public void close() {
            scratch.close();
        }
    }

    @Test
    void pagesComeOutInOrderThroughFewPipesAndAnUnreadablePage() throws Exception {
        int pages = 512;
        try (Mapping m = Mapping.anonymous(pages * PAGE); Self self = new Self(); BufferPool pool = new BufferPool(2, 64 * 1024)) {
            for (long p = 0; p < pages; p++) {
                m.segment().set(ValueLayout.JAVA_LONG, p * PAGE, 0x1000 + p);
                m.segment().set(ValueLayout.JAVA_LONG, p * PAGE + PAGE - 8, ~p);
            }
            // one page vmsplice cannot take: it must come through /proc/self/mem, in its place
            Syscall.call("mprotect", Linux.__NR_mprotect(), m.address() + 100 * PAGE, PAGE, Linux.PROT_NONE());
            List<PageRange> ranges = List.of(new PageRange(m.address(), 40), new PageRange(m.address() + 41 * PAGE, pages - 41));
            List<Long> got = new ArrayList<>();
            List<PageRange> gotRanges = new ArrayList<>();
            try (SpliceCollector c = new SpliceCollector(self, pool, batch -> {
                for (long i = 0; i < batch.data().byteSize(); i += PAGE) {
                    got.add(batch.data().get(ValueLayout.JAVA_LONG, i));
                    assertThat(batch.data().get(ValueLayout.JAVA_LONG, i + PAGE - 8)).isEqualTo(~(got.getLast() - 0x1000));
                }
                batch.ranges().forEach(r -> PresentPages.add(gotRanges, r.start(), r.end()));
            }, 2)) {
                c.splice(ranges, () -> {});
                c.drain(() -> {});
                assertThat(c.earlyDrains()).as("pipes drained early for the 2-pipe budget").isGreaterThan(0);
                assertThat(c.peakPinnedBytes()).isLessThanOrEqualTo(2 * 64 * 1024);
            } finally {
                Syscall.call("mprotect", Linux.__NR_mprotect(), m.address() + 100 * PAGE, PAGE, Linux.PROT_READ() | Linux.PROT_WRITE());
            }
            List<Long> expected = new ArrayList<>();
            for (long p = 0; p < pages; p++) {
                if (p != 40) {
                    expected.add(0x1000 + p);
                }
            }
            assertThat(got).isEqualTo(expected);
            assertThat(gotRanges).isEqualTo(ranges);
        }
    }
}
