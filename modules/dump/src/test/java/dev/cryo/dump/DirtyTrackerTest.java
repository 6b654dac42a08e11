package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which dirty tracker a kernel's features lead to. */
class DirtyTrackerTest {
    @Test
    void uffdWpNeedsBothWpAsyncAndPagemapScanAndIsPreferredToSoftDirty() {
        assertThat(DirtyTracker.choose(true, true, true)).contains(DirtyTracker.UFFD_WP);
        assertThat(DirtyTracker.choose(true, true, false)).contains(DirtyTracker.UFFD_WP);
        assertThat(DirtyTracker.choose(true, false, true)).as("WP_ASYNC without PAGEMAP_SCAN").contains(DirtyTracker.SOFT_DIRTY);
        assertThat(DirtyTracker.choose(false, true, true)).contains(DirtyTracker.SOFT_DIRTY);
        assertThat(DirtyTracker.choose(false, false, true)).as("Debian 12's 6.1").contains(DirtyTracker.SOFT_DIRTY);
        assertThat(DirtyTracker.choose(true, false, false)).isEmpty();
        assertThat(DirtyTracker.choose(false, false, false)).isEmpty();
    }
}
