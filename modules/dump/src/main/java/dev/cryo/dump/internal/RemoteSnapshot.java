package dev.cryo.dump.internal;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.images.RemoteImageStore;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.Snapshots;
import dev.cryo.parasite.Cancellation;

/**
 * A step's images with {@code --remote}: its snapshot (named by {@code -D}, nothing made at that path) written
 * through the image proxy to the image cache, so that no image touches the source's disk. The proxy and the
 * cache accept the claim before the tree is touched (a snapshot they have seen, or a parent they do not hold
 * complete, is refused). Closed without {@link #complete()}, the snapshot is aborted on both: nothing of a
 * failed step stays there that a restore could take for complete.
 */
final class RemoteSnapshot implements StepImages {
    private final RemoteImageStore store;
    private final String parent;
    private final Cancellation cancel;
    private RemoteImageStore previous;
    private boolean complete;

    private RemoteSnapshot(RemoteImageStore store, String parent, Cancellation cancel) {
        this.store = store;
        this.parent = parent;
        this.cancel = cancel;
    }

    static RemoteSnapshot claim(DumpOptions o, String step, Cancellation cancel) throws DumpException {
        String id;
        String parent;
        try {
            id = Snapshots.of(o.imagesDir());
            parent = o.prevImagesDir() == null ? null : Snapshots.previous(o.imagesDir(), o.prevImagesDir());
        } catch (IllegalArgumentException e) {
            throw new DumpException("cannot " + step + " into " + o.imagesDir() + ": " + e.getMessage());
        }
        if (o.pageServer() != null) {
            throw new DumpException("cannot " + step + " into snapshot " + id + ": --remote sends every image through the image proxy,"
                    + " --page-server the pages to a page server; use one");
        }
        try {
            return new RemoteSnapshot(RemoteImageStore.claim(o.remote(), id, parent, step.equals("dump"), cancel::check), parent, cancel);
        } catch (RemoteImageException e) {
            throw new DumpException("cannot " + step + " into snapshot " + id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public RemoteImageStore store() {
        return store;
    }

    @Override
    public PreviousStep previous(DumpOptions o) {
        if (parent == null) {
            return PreviousStep.NONE;
        }
        // the proxy keeps every image of the previous step but its pages: its pagemaps and cryo's records
        previous = RemoteImageStore.open(store.daemon(), parent, cancel::check);
        return PreviousStep.of(previous);
    }

    @Override
    public void confirm() {
        store.complete();
    }

    @Override
    public void complete() {
        complete = true;
    }

    @Override
    public void close() {
        try {
            if (!complete) {
                store.abortAll();
            }
        } finally {
            try {
                if (previous != null) {
                    previous.close();
                }
            } finally {
                store.close();
            }
        }
    }
}
