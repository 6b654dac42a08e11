package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.rlimit;

/** A process's resource limits, read and set from outside it with prlimit64(2). */
public final class Rlimits {
    private Rlimits() {}

    /** One limit, {@code struct rlimit}: the soft value and the hard ceiling (RLIM_INFINITY is -1). */
    public record Limit(long cur, long max) {
        public static final long SIZE = rlimit.sizeof();

        /** Room for one, for prlimit64 (here or in another task) to fill. */
        public static MemorySegment allocate(SegmentAllocator allocator) {
            return rlimit.allocate(allocator);
        }

        public static Limit read(MemorySegment s) {
            return new Limit(rlimit.rlim_cur(s), rlimit.rlim_max(s));
        }

        public MemorySegment write(SegmentAllocator allocator) {
            MemorySegment s = rlimit.allocate(allocator);
            rlimit.rlim_cur(s, cur);
            rlimit.rlim_max(s, max);
            return s;
        }
    }

    public static Limit get(int pid, int resource) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment old = Limit.allocate(a);
            Syscall.call("prlimit64(pid " + pid + ", resource " + resource + ")", Linux.__NR_prlimit64(), pid, resource, 0,
                    old.address());
            return Limit.read(old);
        }
    }

    /** Raising the hard ceiling needs CAP_SYS_RESOURCE: without it, EPERM. */
    public static void set(int pid, int resource, Limit limit) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment lim = limit.write(a);
            Syscall.call("prlimit64(pid " + pid + ", resource " + resource + ")", Linux.__NR_prlimit64(), pid, resource,
                    lim.address(), 0);
        }
    }
}
