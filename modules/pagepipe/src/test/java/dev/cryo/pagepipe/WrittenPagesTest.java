package dev.cryo.pagepipe;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Syscall;
import dev.cryo.syscalls.Uffd;

/** Write tracking with uffd async write-protect and PAGEMAP_SCAN, on cryo's own memory. */
class WrittenPagesTest {
    private static final int PID = (int) ProcessHandle.current().pid();
    private static final long PAGE = Page.SIZE;

    private static Fd trackingUffd() {
        Fd uffd = Uffd.create();
        Uffd.api(uffd, Uffd.WP_TRACKING_FEATURES);
        return uffd;
    }

    private static void touch(Mapping m, long page) {
        m.segment().set(ValueLayout.JAVA_LONG, page * PAGE, page + 1);
    }

    private static List<PageRange> written(WrittenPages w, Mapping m) {
        List<PageRange> out = new ArrayList<>();
        assertThat(w.written(m.address(), m.address() + m.length(), out)).as("range is tracked").isTrue();
        return out;
    }

    @Test
    void reportsExactlyThePagesWrittenSinceTheLastScan() {
        try (Mapping m = Mapping.anonymous(64 * PAGE); Fd uffd = trackingUffd(); WrittenPages w = new WrittenPages(PID, uffd)) {
            for (int p = 0; p < 64; p++) {
                touch(m, p);
            }
            assertThat(w.track(m.address(), m.address() + m.length())).isTrue();
            assertThat(written(w, m)).isEmpty();
            touch(m, 3);
            touch(m, 10);
            touch(m, 11);
            assertThat(written(w, m)).containsExactly(new PageRange(m.address() + 3 * PAGE, 1),
                    new PageRange(m.address() + 10 * PAGE, 2));
            // the scan protected them again
            assertThat(written(w, m)).isEmpty();
        }
    }

    @Test
    void aPageNeverTouchedIsWrittenOnItsFirstWrite() {
        try (Mapping m = Mapping.anonymous(16 * PAGE); Fd uffd = trackingUffd(); WrittenPages w = new WrittenPages(PID, uffd)) {
            assertThat(w.track(m.address(), m.address() + m.length())).isTrue();
            touch(m, 7);
            assertThat(written(w, m)).containsExactly(new PageRange(m.address() + 7 * PAGE, 1));
        }
    }

    @Test
    void trackingAddsNoPagesToThePresentOnes() {
        try (Mapping m = Mapping.anonymous(64 * PAGE); Fd uffd = trackingUffd(); WrittenPages w = new WrittenPages(PID, uffd);
             PresentPages present = new PresentPages(PID)) {
            touch(m, 1);
            touch(m, 40);
            w.track(m.address(), m.address() + m.length());
            List<PageRange> out = new ArrayList<>();
            present.privatePages(m.address(), m.address() + m.length(), out);
            assertThat(out).containsExactly(new PageRange(m.address() + PAGE, 1), new PageRange(m.address() + 40 * PAGE, 1));
        }
    }

    @Test
    void closingTheUffdLosesTheProtection() {
        try (Mapping m = Mapping.anonymous(32 * PAGE)) {
            for (int p = 0; p < 32; p++) {
                touch(m, p);
            }
            try (Fd uffd = trackingUffd(); WrittenPages w = new WrittenPages(PID, uffd)) {
                w.track(m.address(), m.address() + m.length());
                assertThat(written(w, m)).isEmpty();
            }
            // A new uffd finds the range unregistered, and once registered every page reads as written:
            // tracking must keep its uffd alive between steps.
            try (Fd uffd = trackingUffd(); WrittenPages w = new WrittenPages(PID, uffd)) {
                assertThat(w.written(m.address(), m.address() + m.length(), new ArrayList<>())).isFalse();
                Uffd.registerWp(uffd, m.address(), m.length());
                assertThat(written(w, m)).containsExactly(new PageRange(m.address(), 32));
            }
        }
    }

    @Test
    void isTrackedTellsRegisteredMappingsApart() {
        try (Mapping a = Mapping.anonymous(16 * PAGE); Mapping b = Mapping.anonymous(16 * PAGE);
             Fd uffd = trackingUffd(); WrittenPages w = new WrittenPages(PID, uffd)) {
            touch(a, 2);
            assertThat(w.isTracked(a.address(), a.address() + a.length())).isFalse();
            assertThat(w.register(a.address(), a.address() + a.length())).isTrue();
            assertThat(w.isTracked(a.address(), a.address() + a.length())).isTrue();
            assertThat(w.isTracked(b.address(), b.address() + b.length())).isFalse();
        }
    }

    @Test
    void aMappingMovedByMremapIsNoLongerTracked() {
        try (Mapping m = Mapping.anonymous(8 * PAGE); Mapping dest = Mapping.anonymous(8 * PAGE);
             Fd uffd = trackingUffd(); WrittenPages w = new WrittenPages(PID, uffd)) {
            touch(m, 0);
            w.track(m.address(), m.address() + m.length());
            Syscall.call("mremap", Kernel.__NR_mremap, m.address(), m.length(), m.length(),
                    Kernel.MREMAP_MAYMOVE | Kernel.MREMAP_FIXED, dest.address());
            assertThat(w.written(dest.address(), dest.address() + dest.length(), new ArrayList<>())).isFalse();
        }
    }
}
