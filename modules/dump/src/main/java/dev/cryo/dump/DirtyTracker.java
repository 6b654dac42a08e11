package dev.cryo.dump;

import java.util.Optional;

import dev.cryo.syscalls.KernelFeatures;
import dev.cryo.syscalls.KernelFeatures.Feature;

/** How a step of an iterative dump tells the pages written since the previous step from the others. */
public enum DirtyTracker {
    /** userfaultfd async write-protect, read and re-armed by PAGEMAP_SCAN (Linux 6.7+). */
    UFFD_WP("uffd-wp"),
    /** The soft-dirty bit of /proc/PID/pagemap, cleared through /proc/PID/clear_refs (CONFIG_MEM_SOFT_DIRTY). */
    SOFT_DIRTY("soft-dirty");

    private static volatile Optional<DirtyTracker> here;

    private final String label;

    DirtyTracker(String label) {
        this.label = label;
    }

    /** Short, as {@code --display-stats} and {@code cryo check} show it. */
    public String label() {
        return label;
    }

    /**
     * The tracker pre-dumps and dumps with {@code --track-mem} use on this kernel, probed once per JVM; empty
     * where the kernel has none (a pre-dump then refuses, a dump writes every page).
     */
    public static Optional<DirtyTracker> here() {
        Optional<DirtyTracker> t = here;
        if (t == null) {
            t = choose(KernelFeatures.has(Feature.UFFD_WP_ASYNC), KernelFeatures.has(Feature.PAGEMAP_SCAN),
                    KernelFeatures.has(Feature.SOFT_DIRTY));
            here = t;
        }
        return t;
    }

    /**
     * The tracker for a kernel with (or without) WP_ASYNC, PAGEMAP_SCAN and the soft-dirty bit: uffd-wp where
     * it can (nothing to clear, and read mode can look at the pages after the tree is released), else
     * soft-dirty, else none.
     */
    public static Optional<DirtyTracker> choose(boolean uffdWpAsync, boolean pagemapScan, boolean softDirty) {
        if (uffdWpAsync && pagemapScan) {
            return Optional.of(UFFD_WP);
        }
        return softDirty ? Optional.of(SOFT_DIRTY) : Optional.empty();
    }
}
