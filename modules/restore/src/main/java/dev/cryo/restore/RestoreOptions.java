package dev.cryo.restore;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What to restore and how.
 *
 * @param imagesDir directory holding a complete dump (inventory.img)
 * @param detached  return once the tree runs (criu's {@code -d}); otherwise wait until it exits
 * @param samePid   give each task the pid it had at dump ({@code clone3} with {@code set_tid}); a taken pid is an error
 */
public record RestoreOptions(Path imagesDir, boolean detached, boolean samePid) {
    public RestoreOptions {
        Objects.requireNonNull(imagesDir, "imagesDir");
    }

    public static RestoreOptions of(Path imagesDir) {
        return new RestoreOptions(imagesDir, false, true);
    }

    public RestoreOptions withDetached(boolean v) {
        return new RestoreOptions(imagesDir, v, samePid);
    }

    public RestoreOptions withSamePid(boolean v) {
        return new RestoreOptions(imagesDir, detached, v);
    }
}
