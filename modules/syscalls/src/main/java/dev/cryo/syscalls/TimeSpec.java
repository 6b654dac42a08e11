package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.itimerspec;
import dev.cryo.bindings.timespec;

/** A {@code struct timespec} (clock_gettime, timerfds): seconds and nanoseconds. */
public record TimeSpec(long sec, long nsec) {
    public static final long SIZE = timespec.sizeof();

    public static MemorySegment allocate(SegmentAllocator allocator) {
        return timespec.allocate(allocator);
    }

    public static TimeSpec read(MemorySegment s) {
        return new TimeSpec(timespec.tv_sec(s), timespec.tv_nsec(s));
    }

    private void into(MemorySegment s) {
        timespec.tv_sec(s, sec);
        timespec.tv_nsec(s, nsec);
    }

    /** A {@code struct itimerspec} as timerfd_settime(2) takes it: the interval, then the first expiry. */
    public record Timer(TimeSpec interval, TimeSpec value) {
        public static final long SIZE = itimerspec.sizeof();

        public static Timer read(MemorySegment s) {
            return new Timer(TimeSpec.read(itimerspec.it_interval(s)), TimeSpec.read(itimerspec.it_value(s)));
        }

        public MemorySegment write(SegmentAllocator allocator) {
            MemorySegment s = itimerspec.allocate(allocator);
            interval.into(itimerspec.it_interval(s));
            value.into(itimerspec.it_value(s));
            return s;
        }
    }
}
