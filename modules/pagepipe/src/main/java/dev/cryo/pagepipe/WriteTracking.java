package dev.cryo.pagepipe;

import java.util.List;

/**
 * Which pages of a task were written since the previous step of an iterative dump. Two kernels' ways:
 * {@link WrittenPages} (userfaultfd asynchronous write-protect, Linux 6.7+) and {@link SoftDirtyPages}
 * (the soft-dirty bit, where the kernel is built with CONFIG_MEM_SOFT_DIRTY).
 */
public interface WriteTracking extends AutoCloseable {
    /** Whether writes to all of [start, end), one whole mapping, are being tracked. */
    boolean isTracked(long start, long end);

    /**
     * Starts tracking [start, end), one whole mapping of a stopped task; its pages count as written until the
     * next {@link #written} look. Returns false where that mapping cannot be tracked.
     */
    boolean register(long start, long end);

    /**
     * Appends to {@code out} the pages of [start, end) that hold data and were written since the previous
     * step. Returns false, appending nothing, when the range is not (or no longer) tracked.
     */
    boolean written(long start, long end, List<PageRange> out);

    @Override
    void close();
}
