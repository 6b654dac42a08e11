package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.clone_args;

/**
 * The part of {@code struct clone_args} that cryo passes to clone3(2): the flags, the signal the parent gets
 * at the child's exit, and the pids the child is to have ({@code setTid}: the address of an array of
 * {@code setTidSize} pids, innermost namespace first; 0 and 0 for any). The rest is zero.
 */
public record CloneArgs(long flags, int exitSignal, long setTid, long setTidSize) {
    /** The size to pass to clone3 beside the struct. */
    public static final long SIZE = clone_args.sizeof();

    public MemorySegment write(SegmentAllocator allocator) {
        MemorySegment s = clone_args.allocate(allocator);
        s.fill((byte) 0);
        clone_args.flags(s, flags);
        clone_args.exit_signal(s, exitSignal);
        clone_args.set_tid(s, setTid);
        clone_args.set_tid_size(s, setTidSize);
        return s;
    }
}
