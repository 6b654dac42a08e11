package dev.cryo.dump.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;

/** The {@code parent} link from a snapshot to the previous one (--prev-images-dir), as CRIU makes it. */
final class ParentLink {
    private ParentLink() {}

    /** Links {@code store} to the previous snapshot, checked first; returns its store, or null without one. */
    static DirectoryImageStore link(DirectoryImageStore store, DumpOptions o) throws DumpException {
        Path prev = o.prevImagesDir();
        if (prev == null) {
            return null;
        }
        Path resolved = o.imagesDir().resolve(prev);
        if (!Files.isDirectory(resolved)) {
            throw new DumpException("cannot use " + prev + " as the previous images: " + resolved + " is not a directory");
        }
        if (!Files.exists(resolved.resolve(ImageKind.INVENTORY.fileName()))) {
            throw new DumpException("cannot use " + prev + " as the previous images: " + resolved + " holds no complete snapshot (no inventory.img)");
        }
        if (Files.exists(o.imagesDir().resolve(DirectoryImageStore.PARENT_LINK), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new DumpException("cannot dump into " + o.imagesDir() + ": it has a parent link already; use an empty directory");
        }
        store.linkParent(prev);
        return store.parent().orElseThrow(() -> new DumpException("cannot follow the parent link of " + o.imagesDir()));
    }

    /** Removes the link made by {@link #link} (a failed step leaves nothing). */
    static void unlink(DirectoryImageStore store, DumpOptions o) {
        if (o.prevImagesDir() == null) {
            return;
        }
        try {
            Path link = o.imagesDir().resolve(DirectoryImageStore.PARENT_LINK);
            if (Files.isSymbolicLink(link)) {
                Files.delete(link);
            }
        } catch (IOException ignored) {
            // best effort: the dump failed already and says why
        }
    }
}
