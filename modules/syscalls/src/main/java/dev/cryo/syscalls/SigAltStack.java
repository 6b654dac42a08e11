package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.stack_t;

/** A thread's alternate signal stack, {@code stack_t} as sigaltstack(2) reads and writes it. */
public record SigAltStack(long sp, long size, int flags) {
    public static final long SIZE = stack_t.sizeof();

    /** Room for one, for sigaltstack to fill. */
    public static MemorySegment allocate(SegmentAllocator allocator) {
        return stack_t.allocate(allocator);
    }

    public static SigAltStack read(MemorySegment s) {
        return new SigAltStack(stack_t.ss_sp(s).address(), stack_t.ss_size(s), stack_t.ss_flags(s));
    }

    public MemorySegment write(SegmentAllocator allocator) {
        MemorySegment s = stack_t.allocate(allocator);
        stack_t.ss_sp(s, MemorySegment.ofAddress(sp));
        stack_t.ss_size(s, size);
        stack_t.ss_flags(s, flags);
        return s;
    }
}
