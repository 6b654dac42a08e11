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

    /** Bytes written so far. */
    long position();

    /** Makes the image visible under its name, replacing any older one. No writes after it. */
    void commit();

    /** Abandons the image unless it was committed. */
    @Override
    void close();
}
