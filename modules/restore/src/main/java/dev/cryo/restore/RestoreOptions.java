package dev.cryo.restore;

import java.nio.file.Path;
import java.util.Objects;

import dev.cryo.images.remote.ImageDaemon;

/**
 * What to restore and how.
 *
 * @param imagesDir directory holding a complete dump (inventory.img)
 * @param detached  return once the tree runs (criu's {@code -d}); otherwise wait until it exits
 * @param samePid   give each task the pid it had at dump ({@code clone3} with {@code set_tid}); a taken pid is an error
 * @param pidns     restore the tree into a new pid namespace, where its tasks have their dumped pids (so a
 *                  dump taken with --leave-running can run beside its original); an init of cryo's is pid 1 there
 * @param shellJob  the dump is a shell job (its session leader was outside the tree): the tree joins cryo's
 *                  session and its terminal is reopened by path; as with CRIU, restoring a shell job needs it
 * @param listener  hears the steps of the restore
 * @param orphan    with {@code detached}: once the tree runs, the keeper that holds and reaps it exits, so that the
 *                  tree is reparented to the nearest subreaper or init, as CRIU leaves it, and no process of cryo's
 *                  is left (for a command that exits after the restore). Without it the keeper stays the tree's
 *                  parent and reaps it, as long as the thread that restored it lives: a JVM cannot reap orphans
 *                  itself without taking its own children's statuses
 * @param remote    the image cache to read every image from (seed 002), or null; {@code imagesDir} then names the
 *                  snapshot (the dump's {@code -D}), and an image that has not arrived yet is waited for
 */
public record RestoreOptions(Path imagesDir, boolean detached, boolean samePid, boolean pidns, boolean shellJob,
                             RestoreListener listener, boolean orphan, ImageDaemon remote) {
    public RestoreOptions {
        Objects.requireNonNull(imagesDir, "imagesDir");
        Objects.requireNonNull(listener, "listener");
    }

    public static RestoreOptions of(Path imagesDir) {
        return new RestoreOptions(imagesDir, false, true, false, false, RestoreListener.SILENT, false, null);
    }

    public RestoreOptions withDetached(boolean v) {
        return new RestoreOptions(imagesDir, v, samePid, pidns, shellJob, listener, orphan, remote);
    }

    public RestoreOptions withSamePid(boolean v) {
        return new RestoreOptions(imagesDir, detached, v, pidns, shellJob, listener, orphan, remote);
    }

    public RestoreOptions withPidns(boolean v) {
        return new RestoreOptions(imagesDir, detached, samePid, v, shellJob, listener, orphan, remote);
    }

    public RestoreOptions withShellJob(boolean v) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, v, listener, orphan, remote);
    }

    public RestoreOptions withListener(RestoreListener l) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, shellJob, l, orphan, remote);
    }

    public RestoreOptions withOrphan(boolean v) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, shellJob, listener, v, remote);
    }

    /** Every image from the image cache {@code d} (null: from {@code imagesDir}). */
    public RestoreOptions withRemote(ImageDaemon d) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, shellJob, listener, orphan, d);
    }
}
