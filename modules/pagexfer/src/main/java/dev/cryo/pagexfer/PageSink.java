package dev.cryo.pagexfer;

import java.lang.foreign.MemorySegment;
import java.util.List;

import dev.cryo.images.PagemapFlags;
import dev.cryo.syscalls.Page;

/**
 * Receives the pages of one pagemap (a process's private memory, or a shared memory object or memfd at its
 * offsets): runs of pages, then the bytes of the runs that carry them, in order, then a commit. More runs may
 * follow once the bytes of the earlier ones are written. Closing without a commit abandons what was sent.
 * Sinks come from a {@link PageDestination}, local images or a page server alike.
 */
public interface PageSink extends AutoCloseable {
    /**
     * One run of {@code pages} pages at {@code vaddr} (an offset in the object for shared memory), with
     * {@code flags} as a pagemap entry has them: {@code PE_PRESENT} (its bytes follow), {@code PE_PARENT}
     * (unchanged since the previous snapshot of the chain: its bytes are there and are not sent again), or
     * {@code PE_LAZY} (left for a lazy-pages daemon, bytes only with {@code PE_PRESENT} as well).
     */
    record Run(long vaddr, long pages, int flags) {
        public Run(long vaddr, long pages) {
            this(vaddr, pages, PagemapFlags.PE_PRESENT);
        }

        public Run(long vaddr, long pages, boolean inParent) {
            this(vaddr, pages, inParent ? PagemapFlags.PE_PARENT : PagemapFlags.PE_PRESENT);
        }

        public boolean inParent() {
            return (flags & PagemapFlags.PE_PARENT) != 0;
        }

        /** Whether the run's bytes go through this sink. */
        public boolean carriesBytes() {
            return (flags & PagemapFlags.PE_PRESENT) != 0;
        }

        public long end() {
            return vaddr + pages * Page.SIZE;
        }
    }

    void begin(List<Run> runs);

    /**
     * The runs begun so far are all there will be: where readers may start before the bytes arrive (images over
     * sockets), the pagemap is made visible now and the pages image's size announced; the bytes follow. No
     * {@link #begin} after it. Nothing elsewhere.
     */
    default void publish() {
    }

    /** The next bytes of the runs that carry bytes, in order; off-heap memory, passed on without a copy. */
    void write(MemorySegment data);

    /**
     * Whether {@link #writeFromPipe} moves bytes without a copy through cryo: splice(2) into a pages image or
     * onto a plain page-server socket. False for TLS and for stores that are not files; then only
     * {@link #write} serves.
     */
    default boolean takesPipes() {
        return false;
    }

    /**
     * The next {@code bytes} of the runs that carry bytes, waiting in {@code pipe} (its read end), moved by
     * splice(2); only where {@link #takesPipes} says so. A socket may still reference the pages when this
     * returns (vmsplice'd pages go onto the wire as they are): they must not change until the destination's
     * {@link PageDestination#commit} has confirmed them.
     */
    default void writeFromPipe(dev.cryo.syscalls.Fd pipe, long bytes) {
        throw new UnsupportedOperationException("this page sink does not take pages from a pipe");
    }

    void commit();

    @Override
    void close();
}
