package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.rlimit;

/** A process's resource limits, read and set from outside it with prlimit64(2). */
public final class Rlimits {
    private Rlimits() {}

    /** One limit: the soft value and the hard ceiling (RLIM_INFINITY is -1). */
    public record Limit(long cur, long max) {}

    public static Limit get(int pid, int resource) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment old = rlimit.allocate(a);
            Syscall.call("prlimit64(pid " + pid + ", resource " + resource + ")", Linux.__NR_prlimit64(), pid, resource, 0,
                    old.address());
            return new Limit(rlimit.rlim_cur(old), rlimit.rlim_max(old));
        }
    }

    /** Raising the hard ceiling needs CAP_SYS_RESOURCE: without it, EPERM. */
    public static void set(int pid, int resource, Limit limit) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment lim = rlimit.allocate(a);
            rlimit.rlim_cur(lim, limit.cur());
            rlimit.rlim_max(lim, limit.max());
            Syscall.call("prlimit64(pid " + pid + ", resource " + resource + ")", Linux.__NR_prlimit64(), pid, resource,
                    lim.address(), 0);
        }
    }
}
