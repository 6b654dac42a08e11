package dev.cryo.pagexfer;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Receives one process's pages: first the ranges it will get (its pagemap), then their bytes in that
 * order, then a commit. Closing without a commit abandons what was sent.
 */
public interface PageSink extends AutoCloseable {
    /** One run of {@code pages} pages at virtual address {@code vaddr}. */
    record Run(long vaddr, long pages) {}

    void begin(List<Run> runs);

    /** The next bytes of the runs, in order; off-heap memory, passed on without a copy. */
    void write(MemorySegment data);

    void commit();

    @Override
    void close();
}
