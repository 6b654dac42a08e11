package dev.cryo.dump;

import java.nio.file.Path;
import java.util.Objects;

import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.pagexfer.PageServerEndpoint;

/**
 * What to dump and how.
 *
 * @param pid           root of the process tree
 * @param imagesDir     directory that receives the images; must exist, be writable and hold no dump yet
 * @param leaveRunning  let the tree run on after the dump (by default it is killed once the images are complete)
 * @param shellJob      the tree is a shell job: its controlling terminal is dumped as an external tty
 * @param listener      progress and log messages
 * @param prevImagesDir the previous snapshot of an iterative dump, relative to {@code imagesDir} as CRIU's
 *                      {@code --prev-images-dir} (e.g. {@code ../pre1}), or null; the images link to it as {@code parent}
 * @param trackMem      track written pages between steps, so that a next step writes only what changed
 * @param preDumpMode   how a pre-dump copies pages (ignored by a dump, which copies while frozen)
 * @param warmUp        before freezing the tree, dump a decoy process once per JVM, so that the code a dump runs
 *                      while the tree is frozen is loaded and linked (for a short-lived JVM such as the CLI's)
 * @param fileLocks     dump the file locks the tree holds (CRIU's {@code --file-locks}); without it a held lock
 *                      refuses the dump, since the restored tree would run without it
 * @param pageServer    where the pages go instead of {@code imagesDir} (the other images stay there), or null;
 *                      with {@code prevImagesDir}, the previous step's pages are on that server's side
 * @param remote        the image proxy that every image goes through instead (seed 002), or null; {@code imagesDir}
 *                      then names the step's snapshot (nothing is made at that path) and {@code prevImagesDir} the
 *                      previous one among the snapshots, as among directories
 */
public record DumpOptions(int pid, Path imagesDir, boolean leaveRunning, boolean shellJob, DumpListener listener,
                          Path prevImagesDir, boolean trackMem, PreDumpMode preDumpMode, boolean warmUp,
                          boolean fileLocks,
                          PageServerEndpoint pageServer, ImageDaemon remote) {
    public DumpOptions {
        Objects.requireNonNull(imagesDir, "imagesDir");
        listener = listener == null ? DumpListener.SILENT : listener;
        preDumpMode = preDumpMode == null ? PreDumpMode.SPLICE : preDumpMode;
    }

    public DumpOptions(int pid, Path imagesDir, boolean leaveRunning, boolean shellJob, DumpListener listener) {
        this(pid, imagesDir, leaveRunning, shellJob, listener, null, false, PreDumpMode.SPLICE, false, false, null, null);
    }

    public static DumpOptions of(int pid, Path imagesDir) {
        return new DumpOptions(pid, imagesDir, false, false, DumpListener.SILENT);
    }

    public DumpOptions withLeaveRunning(boolean v) {
        return new DumpOptions(pid, imagesDir, v, shellJob, listener, prevImagesDir, trackMem, preDumpMode, warmUp, fileLocks, pageServer, remote);
    }

    public DumpOptions withShellJob(boolean v) {
        return new DumpOptions(pid, imagesDir, leaveRunning, v, listener, prevImagesDir, trackMem, preDumpMode, warmUp, fileLocks, pageServer, remote);
    }

    public DumpOptions withListener(DumpListener l) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, l, prevImagesDir, trackMem, preDumpMode, warmUp, fileLocks, pageServer, remote);
    }

    public DumpOptions withPrevImagesDir(Path p) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, listener, p, trackMem, preDumpMode, warmUp, fileLocks, pageServer, remote);
    }

    public DumpOptions withTrackMem(boolean v) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, listener, prevImagesDir, v, preDumpMode, warmUp, fileLocks, pageServer, remote);
    }

    public DumpOptions withPreDumpMode(PreDumpMode m) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, listener, prevImagesDir, trackMem, m, warmUp, fileLocks, pageServer, remote);
    }

    public DumpOptions withFileLocks(boolean v) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, listener, prevImagesDir, trackMem, preDumpMode, warmUp, v, pageServer, remote);
    }

    public DumpOptions withWarmUp(boolean v) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, listener, prevImagesDir, trackMem, preDumpMode, v, fileLocks, pageServer, remote);
    }

    public DumpOptions withPageServer(PageServerEndpoint e) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, listener, prevImagesDir, trackMem, preDumpMode, warmUp, fileLocks, e, remote);
    }

    /** Every image through the image proxy {@code d} (null: into {@code imagesDir}). */
    public DumpOptions withRemote(ImageDaemon d) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, listener, prevImagesDir, trackMem, preDumpMode, warmUp, fileLocks, pageServer, d);
    }
}
