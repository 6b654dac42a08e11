package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.linger;

/** SO_LINGER's {@code struct linger}: whether close waits for unsent data, and how many seconds. */
public record Linger(boolean on, int seconds) {
    public static final long SIZE = linger.sizeof();

    public static MemorySegment allocate(SegmentAllocator allocator) {
        return linger.allocate(allocator);
    }

    public static Linger read(MemorySegment s) {
        return new Linger(linger.l_onoff(s) != 0, linger.l_linger(s));
    }

    public MemorySegment write(SegmentAllocator allocator) {
        MemorySegment s = linger.allocate(allocator);
        linger.l_onoff(s, on ? 1 : 0);
        linger.l_linger(s, seconds);
        return s;
    }
}
