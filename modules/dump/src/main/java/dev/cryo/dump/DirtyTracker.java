package dev.cryo.dump;

/** How a step of an iterative dump tells the pages written since the previous step from the others. */
public enum DirtyTracker {
    /** userfaultfd async write-protect, read and re-armed by PAGEMAP_SCAN (Linux 6.7+). */
    UFFD_WP("uffd-wp"),
    /** The soft-dirty bit of /proc/PID/pagemap, cleared through /proc/PID/clear_refs (CONFIG_MEM_SOFT_DIRTY). */
    SOFT_DIRTY("soft-dirty");

    private final String label;

    DirtyTracker(String label) {
        this.label = label;
    }

    /** Short, as {@code --display-stats} and {@code cryo check} show it. */
    public String label() {
        return label;
    }
}
