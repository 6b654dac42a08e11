package dev.cryo.images;

import java.lang.foreign.MemorySegment;

/**
 * Bytes going into one image, e.g. the pages of a pages image. Nothing is
 * visible under the image's name until {@link #commit()}; closing without a
 * commit abandons the image, so a writer left by an exception leaves nothing.
 *
 * <pre>{@code
 * try (RawWriter pages = store.openRawWriter(ImageKind.PAGES.fileName(1))) {
 *     pages.write(buffer);          // off-heap, written without a copy
 *     pages.commit();
 * }
 * }</pre>
 *
 * I/O failures are thrown as {@link java.io.UncheckedIOException} naming the image.
 */
public interface RawWriter extends AutoCloseable {
    /** The image's name, e.g. {@code pages-1.img}. */
    String name();

    /** Appends all bytes of {@code data}. Native segments go to the kernel as they are. */
    void write(MemorySegment data);

    /**
     * Whether {@link #writeFromPipe} moves bytes without a copy through user space: true for a file of a
     * directory store (splice(2) into it), false where the bytes would have to pass through a buffer.
     */
    default boolean takesPipes() {
        return false;
    }

    /**
     * Appends {@code n} bytes that wait in {@code pipe} (its read end), moved by splice(2); only where
     * {@link #takesPipes} says so. The pipe holds fewer bytes: the image is left unusable and the call fails.
     */
    default void writeFromPipe(dev.cryo.syscalls.Fd pipe, long n) {
        throw new UnsupportedOperationException(name() + " does not take bytes from a pipe");
    }

    /**
     * The image will hold exactly {@code size} bytes: a store whose readers may start before the bytes arrive
     * (the image cache) tells them so, and takes no byte beyond it. Before the first write; nothing elsewhere.
     */
    default void announce(long size) {
    }

    /** Bytes written so far. */
    long position();

    /** Makes the image visible under its name, replacing any older one. No writes after it. */
    void commit();

    /** Abandons the image unless it was committed. */
    @Override
    void close();
}
