package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.kernel_sigaction;

/**
 * A signal's disposition as rt_sigaction(2) reads and writes it on x86-64: the kernel's struct sigaction
 * (handler, flags, restorer, a 64-bit mask), not glibc's. All zero is SIG_DFL with nothing blocked.
 */
public record SigAction(long handler, long flags, long restorer, long mask) {
    /** Bytes of the kernel's struct sigaction (rt_sigaction's sigsetsize is 8 beside it). */
    public static final long SIZE = kernel_sigaction.sizeof();

    /** Room for one, zeroed (SIG_DFL): for rt_sigaction to fill, or to pass as is. */
    public static MemorySegment allocate(SegmentAllocator allocator) {
        MemorySegment s = kernel_sigaction.allocate(allocator);
        s.fill((byte) 0);
        return s;
    }

    public static SigAction read(MemorySegment s) {
        return new SigAction(kernel_sigaction.handler(s), kernel_sigaction.flags(s), kernel_sigaction.restorer(s),
                kernel_sigaction.mask(s));
    }

    public MemorySegment write(SegmentAllocator allocator) {
        MemorySegment s = kernel_sigaction.allocate(allocator);
        kernel_sigaction.handler(s, handler);
        kernel_sigaction.flags(s, flags);
        kernel_sigaction.restorer(s, restorer);
        kernel_sigaction.mask(s, mask);
        return s;
    }
}
