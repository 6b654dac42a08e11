package dev.cryo.dump.internal;

import java.util.Map;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageStore;

/**
 * The previous snapshot of a chain (--prev-images-dir) as the next step, pre-dump or dump, sees it: its
 * images, and what it recorded for the step after it: where each process keeps its uffd, whose soft-dirty
 * bits it cleared, and the calls threads continue by restart_syscall. Without one, {@code store} is null
 * and the records are empty.
 */
record PreviousStep(ImageStore store, Map<Integer, UffdTracker.Kept> trackers, Map<Integer, Long> cleared,
                    InterruptedCalls calls) {
    static final PreviousStep NONE = new PreviousStep(null, Map.of(), Map.of(), new InterruptedCalls());

    /**
     * Links {@code store} to the previous snapshot ({@link ParentLink}) and reads its records; the link is
     * removed again if they cannot be read.
     */
    static PreviousStep link(DirectoryImageStore store, DumpOptions options) throws DumpException {
        DirectoryImageStore parent = ParentLink.link(store, options);
        if (parent == null) {
            return NONE;
        }
        try {
            return of(parent);
        } catch (RuntimeException e) {
            ParentLink.unlink(store, options);
            throw e;
        }
    }

    /** The previous step in {@code parent}, with the records it left for the next step. */
    static PreviousStep of(ImageStore parent) {
        return new PreviousStep(parent, UffdTracker.readRecord(parent), SoftDirtyTracker.readRecord(parent),
                InterruptedCalls.read(parent));
    }

    boolean exists() {
        return store != null;
    }
}
