package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.itimerval;
import dev.cryo.bindings.timeval;

/** A {@code struct timeval} (SO_RCVTIMEO, SO_SNDTIMEO, itimers): seconds and microseconds. */
public record TimeVal(long sec, long usec) {
    public static final long SIZE = timeval.sizeof();

    public static MemorySegment allocate(SegmentAllocator allocator) {
        return timeval.allocate(allocator);
    }

    public static TimeVal read(MemorySegment s) {
        return new TimeVal(timeval.tv_sec(s), timeval.tv_usec(s));
    }

    public MemorySegment write(SegmentAllocator allocator) {
        MemorySegment s = timeval.allocate(allocator);
        into(s);
        return s;
    }

    private void into(MemorySegment s) {
        timeval.tv_sec(s, sec);
        timeval.tv_usec(s, usec);
    }

    /** A {@code struct itimerval} as getitimer(2) and setitimer(2) take it: the interval, then the time left. */
    public record Timer(TimeVal interval, TimeVal value) {
        public static final long SIZE = itimerval.sizeof();

        public static MemorySegment allocate(SegmentAllocator allocator) {
            return itimerval.allocate(allocator);
        }

        public static Timer read(MemorySegment s) {
            return new Timer(TimeVal.read(itimerval.it_interval(s)), TimeVal.read(itimerval.it_value(s)));
        }

        public MemorySegment write(SegmentAllocator allocator) {
            MemorySegment s = itimerval.allocate(allocator);
            interval.into(itimerval.it_interval(s));
            value.into(itimerval.it_value(s));
            return s;
        }
    }
}
