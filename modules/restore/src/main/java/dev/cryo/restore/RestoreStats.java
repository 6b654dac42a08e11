package dev.cryo.restore;

import java.util.List;

/**
 * What a restore did and how long it took.
 *
 * @param rootPid       pid of the restored tree's root
 * @param pagesRestored pages copied from the pages images
 * @param restoreNanos  from reading the images to the tree running
 * @param exitCode      with a non-detached restore, how the tree ended (the keeper's status); -1 when detached
 * @param steps         where the restore's time went, step by step, in the order they first ran
 */
public record RestoreStats(int rootPid, long pagesRestored, long restoreNanos, int exitCode, List<Step> steps) {
    /** One step of the restore ("memory", "fds"...): its time summed over the {@code times} it ran (once per task, most). */
    public record Step(String name, long nanos, int times) {}
}
