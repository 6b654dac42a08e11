package dev.cryo.pagexfer;

import java.util.List;

import dev.cryo.images.ImageStore;
import dev.cryo.pagexfer.internal.ImageDestination;
import dev.cryo.pagexfer.internal.PageServerClient;

/**
 * Where every page of one dump or pre-dump goes, chosen once: local images, or a page server; either with a
 * parent snapshot (the previous step of a chain) that holds what did not change. CRIU's {@code page_xfer}
 * ops serve both the same way; so does this.
 *
 * <pre>{@code
 * try (PageDestination pages = PageDestination.images(store, parent)) {
 *     try (PageSink s = pages.open(PagemapType.PROCESS, pid)) {
 *         s.begin(runs); s.write(bytes); s.commit();
 *     }
 *     pages.commit();        // a page server confirms here that it has everything
 * }                          // closed without a commit: what was sent is abandoned
 * }</pre>
 *
 * Sinks are used one at a time: one is committed before the next gets its first bytes.
 */
public interface PageDestination extends AutoCloseable {
    /** Local images in {@code store}; {@code parent} (or null) is the previous snapshot of the chain. */
    static PageDestination images(ImageStore store, ImageStore parent) {
        return new ImageDestination(store, parent);
    }

    /**
     * Local images in {@code store} whose previous snapshot {@code parent} (or null) may have sent its pages to a
     * page server: for a process whose pagemap it lacks, what it recorded that server holds counts as held. The
     * images then restore only beside that server's directories (a lazy dump's final step, whose images are
     * copied there).
     */
    static PageDestination imagesAfterPageServer(ImageStore store, ImageStore parent) {
        return parent == null ? new ImageDestination(store, null) : ImageDestination.afterPageServer(store, parent);
    }

    /**
     * A page server; the other images of the step stay in {@code store}, where the connection also keeps the
     * record of what the server holds for the next step ({@code localParent}: this step's previous one, or
     * null). {@code checkpoint} runs while the connection waits on the server (it may throw, to cancel).
     */
    static PageDestination pageServer(PageServerEndpoint endpoint, ImageStore store, ImageStore localParent, Runnable checkpoint) {
        return PageServerClient.connect(endpoint, store, localParent, checkpoint);
    }

    /** A sink for the pagemap of process or shared object {@code id}, with pages images numbered by the destination. */
    PageSink open(PagemapType type, long id);

    /**
     * The pages of process {@code pid}, as [start, end) pairs in address order, that the previous snapshot
     * holds (itself or through its parents): what a run of this step may mark {@code PE_PARENT}. Empty
     * without a previous snapshot.
     */
    List<long[]> parentHolds(int pid);

    /** Where the pages go, for messages: {@code images in DIR} or {@code the page server at A:P}. */
    String describe();

    /** Every sink is committed: the pages are where they go (a page server has confirmed it). */
    void commit();

    @Override
    void close();
}
