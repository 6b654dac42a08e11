package dev.cryo.restore;

/**
 * What a restore did and how long it took.
 *
 * @param rootPid       pid of the restored tree's root
 * @param pagesRestored pages copied from the pages images
 * @param restoreNanos  from reading the images to the tree running
 * @param exitCode      with a non-detached restore, how the tree ended (the keeper's status); -1 when detached
 */
public record RestoreStats(int rootPid, long pagesRestored, long restoreNanos, int exitCode) {}
