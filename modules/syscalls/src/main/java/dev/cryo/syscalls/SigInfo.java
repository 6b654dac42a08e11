package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.siginfo_t;

/**
 * A {@code siginfo_t} as PTRACE_GETSIGINFO, PTRACE_PEEKSIGINFO and rt_sigqueueinfo(2) read and write it:
 * an opaque block of {@link #SIZE} bytes of which cryo reads the signal, its code and its sender.
 */
public final class SigInfo {
    /** Bytes in one siginfo (128 on Linux). */
    public static final long SIZE = siginfo_t.sizeof();
    /** si_code of a signal sent by tkill(2)/tgkill(2). */
    public static final int SI_TKILL = Linux.SI_TKILL();

    private SigInfo() {}

    /** Room for one siginfo, aligned as the kernel's. */
    public static MemorySegment allocate(SegmentAllocator allocator) {
        return allocator.allocate(siginfo_t.layout());
    }

    /** Room for {@code count} siginfos one after the other (PTRACE_PEEKSIGINFO's buffer). */
    public static MemorySegment allocateArray(SegmentAllocator allocator, long count) {
        return allocator.allocate(siginfo_t.layout(), count);
    }

    public static int signo(MemorySegment info) {
        return siginfo_t.si_signo(info);
    }

    /** si_code: &lt;= 0 for a signal sent by a process (kill, tgkill, sigqueue), &gt; 0 for one the kernel raised. */
    public static int code(MemorySegment info) {
        return siginfo_t.si_code(info);
    }

    /** si_pid: the sender of a signal that a process sent (kill, tgkill, sigqueue put it at the same place). */
    public static int senderPid(MemorySegment info) {
        return siginfo_t._sifields._kill.si_pid(siginfo_t._sifields._kill(siginfo_t._sifields(info)));
    }
}
