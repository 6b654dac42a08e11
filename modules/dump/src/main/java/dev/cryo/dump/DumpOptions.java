package dev.cryo.dump;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What to dump and how.
 *
 * @param pid          root of the process tree
 * @param imagesDir    directory that receives the images; must exist, be writable and hold no dump yet
 * @param leaveRunning let the tree run on after the dump (by default it is killed once the images are complete)
 * @param shellJob     the tree is a shell job: its controlling terminal is dumped as an external tty
 * @param listener     progress and log messages
 */
public record DumpOptions(int pid, Path imagesDir, boolean leaveRunning, boolean shellJob, DumpListener listener) {
    public DumpOptions {
        Objects.requireNonNull(imagesDir, "imagesDir");
        listener = listener == null ? DumpListener.SILENT : listener;
    }

    public static DumpOptions of(int pid, Path imagesDir) {
        return new DumpOptions(pid, imagesDir, false, false, DumpListener.SILENT);
    }

    public DumpOptions withLeaveRunning(boolean v) {
        return new DumpOptions(pid, imagesDir, v, shellJob, listener);
    }

    public DumpOptions withShellJob(boolean v) {
        return new DumpOptions(pid, imagesDir, leaveRunning, v, listener);
    }

    public DumpOptions withListener(DumpListener l) {
        return new DumpOptions(pid, imagesDir, leaveRunning, shellJob, l);
    }
}
