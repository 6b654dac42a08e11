package dev.cryo.restore.internal;

import java.util.HashMap;
import java.util.Map;

import dev.cryo.images.ImageStore;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.restore.internal.TreeImages.ProcessImages;

/**
 * Where each process's pages are, for one restore: its pagemap (read already with the tree's images) resolved
 * through the chain of snapshots once, when first needed, then shared by the image check ({@link ImageConsistency})
 * and the fill of its memory, and of its children's where they still share its pages. The chain after pre-copy
 * has thousands of runs per GiB that the tree wrote meanwhile: read and resolved three times, they were a tenth
 * of a migration's downtime. The pages images mapped for them go when the restore ends.
 */
final class PageSources implements AutoCloseable {
    private final ImageStore store;
    private final TreeImages tree;
    private final Map<Integer, PageSource> open = new HashMap<>();

    PageSources(ImageStore store, TreeImages tree) {
        this.store = store;
        this.tree = tree;
    }

    /** The pages of process {@code pid} of the tree. */
    PageSource of(int pid) {
        PageSource s = open.get(pid);
        if (s == null) {
            ProcessImages p = tree.process(pid).orElseThrow(() -> new IllegalArgumentException("pid " + pid + " is not in the dump"));
            s = PageSource.open(store, pid, p.pagesFile(), p.pagemap());
            open.put(pid, s);
        }
        return s;
    }

    @Override
    public void close() {
        open.values().forEach(PageSource::close);
        open.clear();
    }
}
