package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.iovec;

/** Arrays of {@code struct iovec} (readv, vmsplice, process_vm_readv): base address and length each. */
public final class IoVec {
    /** Bytes of one iovec. */
    public static final long SIZE = iovec.sizeof();

    private IoVec() {}

    public static MemorySegment allocateArray(SegmentAllocator allocator, long count) {
        return iovec.allocateArray(count, allocator);
    }

    /** Sets element {@code i} of {@code array} to [base, base+len). */
    public static void set(MemorySegment array, long i, long base, long len) {
        MemorySegment v = iovec.asSlice(array, i);
        iovec.iov_base(v, MemorySegment.ofAddress(base));
        iovec.iov_len(v, len);
    }
}
