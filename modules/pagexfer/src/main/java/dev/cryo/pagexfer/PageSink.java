package dev.cryo.pagexfer;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Receives one process's pages: first the ranges it will get (its pagemap), then their bytes in that
 * order, then a commit. Closing without a commit abandons what was sent.
 */
public interface PageSink extends AutoCloseable {
    /**
     * One run of {@code pages} pages at virtual address {@code vaddr}. A run {@code inParent} is unchanged
     * since the previous snapshot of the chain: its bytes are there and are not sent again.
     */
    record Run(long vaddr, long pages, boolean inParent) {
        public Run(long vaddr, long pages) {
            this(vaddr, pages, false);
        }
    }

    void begin(List<Run> runs);

    /** The next bytes of the runs that are not in the parent, in order; off-heap memory, passed on without a copy. */
    void write(MemorySegment data);

    void commit();

    @Override
    void close();
}
