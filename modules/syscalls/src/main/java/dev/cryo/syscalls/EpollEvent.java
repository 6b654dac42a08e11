package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.epoll_event;

/** A {@code struct epoll_event} (packed on x86-64): the events watched and the 64 bits handed back with them. */
public record EpollEvent(int events, long data) {
    public static final long SIZE = epoll_event.sizeof();

    public static EpollEvent read(MemorySegment s) {
        return new EpollEvent(epoll_event.events(s), s.get(ValueLayout.JAVA_LONG_UNALIGNED, epoll_event.data$offset()));
    }

    public MemorySegment write(SegmentAllocator allocator) {
        MemorySegment s = epoll_event.allocate(allocator);
        epoll_event.events(s, events);
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, epoll_event.data$offset(), data);
        return s;
    }
}
