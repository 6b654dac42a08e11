package dev.cryo.dump.internal;

import java.util.List;
import java.util.Optional;

import dev.cryo.dump.DirtyTracker;
import dev.cryo.pagepipe.PageRange;
import dev.cryo.pagepipe.WriteTracking;
import dev.cryo.parasite.Parasite;

/**
 * What tracks one process's writes between steps of an iterative dump, one kind per way the kernel offers:
 * a userfaultfd in asynchronous write-protect mode kept inside the process ({@link UffdTracker}, Linux 6.7+),
 * or the soft-dirty bit, which keeps nothing there ({@link SoftDirtyTracker}, CONFIG_MEM_SOFT_DIRTY).
 * Each records, beside a snapshot, what the next step needs to find it again.
 */
sealed interface TaskTracker extends WriteTracking permits UffdTracker, SoftDirtyTracker {
    /** Which way it tracks, as DumpStats reports it. */
    DirtyTracker kind();

    /** The kernel's way of telling written pages, which the tracker's look goes through. */
    WriteTracking pages();

    @Override
    default boolean isTracked(long start, long end) {
        return pages().isTracked(start, end);
    }

    @Override
    default boolean register(long start, long end) {
        return pages().register(start, end);
    }

    @Override
    default boolean written(long start, long end, List<PageRange> out) {
        return pages().written(start, end, out);
    }

    /** Created by this step: nothing is tracked yet, every range must be registered and written whole. */
    boolean fresh();

    /**
     * After a pre-dump has looked at the written pages, with the process still stopped, so that the next step
     * sees the writes from now on.
     */
    void rearm();

    /**
     * For the final dump: the uffd a pre-dump left, taken out of the process (closed there), or where the
     * kernel tracks with soft-dirty, the bits a pre-dump cleared; empty if neither.
     */
    static Optional<TaskTracker> forDump(Parasite parasite, PreviousStep previous) {
        if (DirtyTracker.here().equals(Optional.of(DirtyTracker.SOFT_DIRTY))) {
            return SoftDirtyTracker.continued(parasite.pid(), previous.cleared()).map(t -> t);
        }
        return UffdTracker.takeOut(parasite, previous.trackers()).map(t -> t);
    }
}
