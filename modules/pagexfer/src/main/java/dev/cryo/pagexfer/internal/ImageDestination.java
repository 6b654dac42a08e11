package dev.cryo.pagexfer.internal;

import java.util.List;

import dev.cryo.images.ImageStore;
import dev.cryo.pagexfer.ImagePageSink;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.PagemapType;

/**
 * Pages into the step's own images directory; pages images numbered from 1 in the order the sinks open
 * (CRIU's {@code page_ids}). What a previous snapshot holds is read from its pagemaps.
 */
public final class ImageDestination implements PageDestination {
    private final ImageStore store;
    private final ImageStore parent;
    private int nextPagesId = 1;

    public ImageDestination(ImageStore store, ImageStore parent) {
        this.store = store;
        this.parent = parent;
    }

    @Override
    public PageSink open(PagemapType type, long id) {
        return new ImagePageSink(store, type, id, nextPagesId++);
    }

    @Override
    public List<long[]> parentHolds(int pid) {
        return parent == null ? List.of() : PageSource.coverage(parent, PagemapType.PROCESS, pid);
    }

    @Override
    public String describe() {
        return store.toString();
    }

    @Override
    public void commit() {
        // each sink committed its images already
    }

    @Override
    public void close() {
        // the store's owner removes what a failed step wrote
    }
}
