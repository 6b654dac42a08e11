package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;

/**
 * A mapping in cryo's own address space, unmapped on close. Its segment (and every slice of it) belongs to
 * an arena whose closing unmaps it: a slice used after the close fails with an exception instead of
 * touching memory that is gone (or that a later mapping reuses).
 */
public final class Mapping implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment segment;

    private Mapping(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    /** Anonymous private read-write memory of {@code length} bytes, page-aligned by the kernel. */
    public static Mapping anonymous(long length) {
        return map(0, length, Linux.PROT_READ() | Linux.PROT_WRITE(), Linux.MAP_PRIVATE() | Linux.MAP_ANONYMOUS(), -1, 0);
    }

    public static Mapping map(long addr, long length, int prot, int flags, int fd, long offset) {
        long a = Syscall.call("mmap", Linux.__NR_mmap(), addr, length, prot, flags, fd, offset);
        Arena arena = Arena.ofShared();
        MemorySegment s = MemorySegment.ofAddress(a).reinterpret(length, arena,
                m -> Syscall.call("munmap", Linux.__NR_munmap(), m.address(), length));
        return new Mapping(arena, s);
    }

    public MemorySegment segment() {
        return segment;
    }

    public long address() {
        return segment.address();
    }

    public long length() {
        return segment.byteSize();
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    /**
     * Backs the whole of {@code range} (whole pages of this process's own writable memory) with memory now, as
     * writes would (MADV_POPULATE_WRITE): one call, where touching each page costs a fault each.
     */
    public static void populate(MemorySegment range) {
        Syscall.call("madvise(MADV_POPULATE_WRITE)", Linux.__NR_madvise(), range.address(), range.byteSize(), Linux.MADV_POPULATE_WRITE());
    }

    /**
     * Gives the whole pages inside {@code range} of this process's own memory back (MADV_DONTNEED): of a file
     * mapping, they leave this process's resident set and are read from the file again if touched.
     */
    public static void dontNeed(MemorySegment range) {
        long from = (range.address() + Page.SIZE - 1) & -Page.SIZE;
        long to = (range.address() + range.byteSize()) & -Page.SIZE;
        if (to > from) {
            Syscall.call("madvise(MADV_DONTNEED)", Linux.__NR_madvise(), from, to - from, Linux.MADV_DONTNEED());
        }
    }
}
