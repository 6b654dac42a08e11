package dev.cryo.pagepipe;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Page;

/**
 * A fixed set of page-aligned, off-heap buffers carved from one anonymous mapping. The whole pool is the
 * only page memory a dump holds, so cryo's footprint does not grow with the target's size.
 */
public final class BufferPool implements AutoCloseable {
    private final Mapping mapping;
    private final long bufferSize;
    private final BlockingQueue<MemorySegment> free;

    public BufferPool(int buffers, long bufferSize) {
        if (bufferSize % Page.SIZE != 0) {
            throw new IllegalArgumentException("buffer size must be a whole number of pages: " + bufferSize);
        }
        this.bufferSize = bufferSize;
        this.mapping = Mapping.anonymous(buffers * bufferSize);
        this.free = new ArrayBlockingQueue<>(buffers);
        for (int i = 0; i < buffers; i++) {
            free.add(mapping.segment().asSlice(i * bufferSize, bufferSize));
        }
    }

    public long bufferSize() {
        return bufferSize;
    }

    /** A free buffer, waiting for one to come back if all are in use. */
    public MemorySegment take() throws InterruptedException {
        return free.take();
    }

    /** Returns a buffer (the whole slice given by {@link #take}, or any slice starting where it starts). */
    public void give(MemorySegment buffer) {
        long offset = buffer.address() - mapping.address();
        free.add(mapping.segment().asSlice(offset, bufferSize));
    }

    @Override
    public void close() {
        mapping.close();
    }
}
