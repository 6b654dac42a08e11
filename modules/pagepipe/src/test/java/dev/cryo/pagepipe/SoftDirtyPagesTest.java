package dev.cryo.pagepipe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.KernelFeatures;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Syscall;

/**
 * Soft-dirty tracking and the /proc/PID/pagemap reading it relies on where PAGEMAP_SCAN is missing, on
 * cryo's own memory. The soft-dirty cases need a kernel built with CONFIG_MEM_SOFT_DIRTY (not this
 * project's 6.18 machine; Debian's own kernels have it) and are skipped elsewhere.
 */
class SoftDirtyPagesTest {
    private static final int PID = (int) ProcessHandle.current().pid();
    private static final long PAGE = Page.SIZE;

    private static void touch(Mapping m, long page) {
        m.segment().set(ValueLayout.JAVA_LONG, page * PAGE, page + 1);
    }

    private static List<PageRange> written(SoftDirtyPages s, Mapping m) {
        List<PageRange> out = new ArrayList<>();
        assertThat(s.written(m.address(), m.address() + m.length(), out)).isTrue();
        return out;
    }

    @Test
    void pagemapReadingFindsThePagesPagemapScanFinds() {
        try (Mapping m = Mapping.anonymous(256 * PAGE)) {
            long expected = 0;
            for (int p = 0; p < 256; p += (p % 7 == 0 ? 3 : 1)) {
                touch(m, p);
                expected += p >= 100 && p < 120 ? 0 : 1;
            }
            Syscall.call("madvise", Kernel.__NR_madvise, m.address() + 100 * PAGE, 20 * PAGE, Kernel.MADV_DONTNEED);
            List<PageRange> read = new ArrayList<>();
            try (PresentPages pp = new PresentPages(PID, false)) {
                pp.privatePages(m.address(), m.address() + m.length(), read);
            }
            assertThat(PageRanges.pages(read)).as("touched pages, less those dropped").isEqualTo(expected);
            assumeThat(PresentPages.scanSupported()).as("PAGEMAP_SCAN to compare with").isTrue();
            List<PageRange> scanned = new ArrayList<>();
            try (PresentPages pp = new PresentPages(PID, true)) {
                pp.privatePages(m.address(), m.address() + m.length(), scanned);
            }
            assertThat(read).isEqualTo(scanned);
        }
    }

    @Test
    void reportsExactlyThePagesWrittenSinceTheBitsWereCleared() {
        assumeThat(KernelFeatures.softDirty()).as("kernel keeps the soft-dirty bit").isTrue();
        try (Mapping m = Mapping.anonymous(64 * PAGE); SoftDirtyPages s = new SoftDirtyPages(PID)) {
            for (int p = 0; p < 64; p++) {
                touch(m, p);
            }
            assertThat(PageRanges.pages(written(s, m))).as("all written before any clear").isEqualTo(64);
            s.clear();
            assertThat(written(s, m)).isEmpty();
            touch(m, 3);
            touch(m, 10);
            touch(m, 11);
            assertThat(written(s, m)).containsExactly(new PageRange(m.address() + 3 * PAGE, 1),
                    new PageRange(m.address() + 10 * PAGE, 2));
            s.clear();
            assertThat(written(s, m)).isEmpty();
        }
    }

    @Test
    void aMappingMadeAfterTheClearReadsAsWrittenWhereItHasPages() {
        assumeThat(KernelFeatures.softDirty()).as("kernel keeps the soft-dirty bit").isTrue();
        try (SoftDirtyPages s = new SoftDirtyPages(PID)) {
            s.clear();
            try (Mapping m = Mapping.anonymous(16 * PAGE)) {
                touch(m, 5);
                touch(m, 6);
                assertThat(written(s, m)).containsExactly(new PageRange(m.address() + 5 * PAGE, 2));
            }
        }
    }
}
