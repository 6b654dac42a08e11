package dev.cryo.images;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Random access to the bytes of one image, e.g. to read pages into off-heap
 * memory at restore. I/O failures are thrown as
 * {@link java.io.UncheckedIOException} naming the image.
 */
public interface RawReader extends AutoCloseable {
    /** Largest slice handed to one read, below ByteBuffer's 2 GiB limit. */
    long MAX_READ = 1L << 30;

    /** The image's name, e.g. {@code pages-1.img}. */
    String name();

    /** The image's size in bytes. */
    long size();

    /** Reads up to {@code dst.remaining()} bytes at {@code position}; returns the count, or -1 at the end. */
    int read(ByteBuffer dst, long position);

    /**
     * Fills {@code dst} from {@code position} on, without a copy through the heap.
     *
     * @throws ImageFormatException if the image ends first
     */
    default void readFully(MemorySegment dst, long position) {
        long done = 0;
        while (done < dst.byteSize()) {
            ByteBuffer chunk = dst.asSlice(done, Math.min(MAX_READ, dst.byteSize() - done)).asByteBuffer();
            while (chunk.hasRemaining()) {
                int n = read(chunk, position + done + chunk.position());
                if (n < 0) {
                    long at = position + done + chunk.position();
                    throw new ImageFormatException(name(), at, "truncated at offset " + at
                            + " (expected " + (dst.byteSize() - done - chunk.position()) + " more bytes)");
                }
            }
            done += chunk.capacity();
        }
    }

    @Override
    void close();
}
