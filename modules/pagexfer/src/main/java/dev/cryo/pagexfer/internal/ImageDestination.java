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
    /** What a previous step that sent its pages to a page server recorded that the server holds; null if not asked. */
    private java.util.Map<Integer, List<long[]>> serverHolds;
    private int nextPagesId = 1;

    public ImageDestination(ImageStore store, ImageStore parent) {
        this.store = store;
        this.parent = parent;
    }

    /**
     * Images whose previous step sent its pages to a page server: where the parent has no pagemap of a process,
     * what its record says that server holds counts as held (the images then restore beside that server's
     * directories, as a lazy dump's do; the restore checks every run against them).
     */
    public static ImageDestination afterPageServer(ImageStore store, ImageStore parent) {
        ImageDestination d = new ImageDestination(store, parent);
        d.serverHolds = HoldingsRecord.read(parent);
        return d;
    }

    @Override
    public PageSink open(PagemapType type, long id) {
        return new ImagePageSink(store, type, id, nextPagesId++);
    }

    @Override
    public List<long[]> parentHolds(int pid) {
        if (parent == null) {
            return List.of();
        }
        if (serverHolds != null && !parent.exists(PagemapType.PROCESS.fileName(pid))) {
            return serverHolds.getOrDefault(pid, List.of());
        }
        return PageSource.coverage(parent, PagemapType.PROCESS, pid);
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
