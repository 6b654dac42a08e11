package dev.cryo.images;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import com.google.protobuf.Message;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;

/**
 * The only way images are read or written: a directory, memory (tests), or
 * later a remote image cache. A store holds flat names ({@code core-42.img});
 * every name is checked, and one with '/', "..", a NUL or a leading '.' is
 * rejected with an IllegalArgumentException naming it.
 *
 * <p>Writes are atomic per image: an image appears under its name only when
 * its writer commits. {@link #abortAll()} removes what this store wrote, so a
 * failed dump leaves no image that looks complete.
 *
 * <p>Faults in image contents are {@link ImageFormatException}s; I/O failures
 * are {@link java.io.UncheckedIOException}s naming the image.
 */
public interface ImageStore {
    /** Starts writing a raw image (pages). */
    RawWriter openRawWriter(String name);

    /** Opens a raw image for random access. */
    RawReader openRawReader(String name);

    /** The image's file, where the store has one (a directory store); restore opens pages images by path. */
    Optional<Path> pathOf(String name);

    /**
     * The image mapped read-only into {@code arena} (unmapped when it closes), of its exact size, for a reader of
     * the byte ranges {@code ranges} ([from, to) pairs) only, where the store can hand over its memory: the image
     * cache's pages images ({@link RemoteImageStore}). Empty when it cannot: read the image with
     * {@link #openRawReader} then.
     */
    default Optional<MemorySegment> mapForReading(String name, List<long[]> ranges, Arena arena) {
        return Optional.empty();
    }

    boolean exists(String name);

    /**
     * Returns once the first {@code upTo} bytes of image {@code name} are there: at once but for a pages image
     * that the image cache handed over ({@link #mapForReading}) while its bytes still arrive.
     */
    default void awaitBytes(String name, long upTo) {
    }

    /**
     * The size of image {@code name}: of a remote snapshot being written, the size its writer announced, known
     * before its bytes have all come (a restore checks its pages images so while they travel).
     */
    default long size(String name) {
        try (RawReader r = openRawReader(name)) {
            return r.size();
        }
    }

    /**
     * Returns once every image of the store is final: at once for a directory (a dump's images appear complete),
     * for a remote snapshot once its dump has completed it in the image cache (a restore that began while the
     * images travelled lets no task run before). Throws when that will never be.
     */
    default void settle() {
    }

    /** Names of the images present, sorted. */
    List<String> list();

    /**
     * The previous snapshot of a chain (pre-dumps), through CRIU's {@code parent} link, where this store has
     * one; page sources follow it for pages marked {@code PE_PARENT}.
     */
    default Optional<? extends ImageStore> parent() {
        return Optional.empty();
    }

    /** Removes an image if present. */
    void delete(String name);

    /**
     * Abandons the images this store is writing and deletes the ones it
     * committed: the clean-up of a dump that failed.
     */
    void abortAll();

    /** Starts writing the one image of a kind without id, e.g. {@code pstree.img}. */
    default EntryWriter openWriter(ImageKind kind) {
        return EntryWriter.start(kind, openRawWriter(kind.fileName()));
    }

    /** Starts writing an image of a kind with id, e.g. {@code core-42.img}. */
    default EntryWriter openWriter(ImageKind kind, long id) {
        return EntryWriter.start(kind, openRawWriter(kind.fileName(id)));
    }

    default EntryReader openReader(ImageKind kind) {
        return EntryReader.start(kind, openRawReader(kind.fileName()));
    }

    default EntryReader openReader(ImageKind kind, long id) {
        return EntryReader.start(kind, openRawReader(kind.fileName(id)));
    }

    /** Opens an image by name, its kind known from the name (e.g. for {@code cryo show}). */
    default EntryReader openReader(String name) {
        ImageKind kind = ImageKind.ofFileName(ImageNames.check(name)).orElseThrow(() ->
                new IllegalArgumentException("no image kind is named like \"" + name + "\""));
        return EntryReader.start(kind, openRawReader(name));
    }

    /** Writes an image that holds a single entry (core, mm, fs, inventory). */
    default void writeEntry(ImageKind kind, long id, Message entry) {
        try (EntryWriter w = openWriter(kind, id)) {
            w.write(entry);
            w.commit();
        }
    }

    default void writeEntry(ImageKind kind, Message entry) {
        try (EntryWriter w = openWriter(kind)) {
            w.write(entry);
            w.commit();
        }
    }

    /**
     * Reads the entry of a single-entry image.
     *
     * @throws ImageFormatException if the image has no entry
     */
    default <T extends MessageLite> T readEntry(ImageKind kind, long id, Parser<T> parser) {
        try (EntryReader r = openReader(kind, id)) {
            return first(r, parser);
        }
    }

    default <T extends MessageLite> T readEntry(ImageKind kind, Parser<T> parser) {
        try (EntryReader r = openReader(kind)) {
            return first(r, parser);
        }
    }

    private static <T extends MessageLite> T first(EntryReader r, Parser<T> parser) {
        T entry = r.next(parser);
        if (entry == null) {
            throw new ImageFormatException(r.name(), r.offset(), "no entry at offset " + r.offset()
                    + " (expected one " + r.kind().entryType(0).getName() + ")");
        }
        return entry;
    }
}
