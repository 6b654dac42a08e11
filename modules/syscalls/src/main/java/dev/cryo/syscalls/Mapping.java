package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;

/** A mapping in cryo's own address space, unmapped on close. */
public final class Mapping implements AutoCloseable {
    private final MemorySegment segment;
    private boolean open = true;

    private Mapping(MemorySegment segment) {
        this.segment = segment;
    }

    /** Anonymous private read-write memory of {@code length} bytes, page-aligned by the kernel. */
    public static Mapping anonymous(long length) {
        return map(0, length, Linux.PROT_READ() | Linux.PROT_WRITE(), Linux.MAP_PRIVATE() | Linux.MAP_ANONYMOUS(), -1, 0);
    }

    public static Mapping map(long addr, long length, int prot, int flags, int fd, long offset) {
        long a = Syscall.call("mmap", Linux.__NR_mmap(), addr, length, prot, flags, fd, offset);
        return new Mapping(MemorySegment.ofAddress(a).reinterpret(length));
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
        if (open) {
            open = false;
            Syscall.call("munmap", Linux.__NR_munmap(), segment.address(), segment.byteSize());
        }
    }
}
