package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;

/**
 * process_vm_readv/writev: copies between cryo's memory and another process's, with no stop needed.
 * The iovec arrays are built by the caller (one local buffer, many remote ranges) so that a batch is one call.
 */
public final class ProcessVm {
    private ProcessVm() {}

    /** Returns the bytes copied, which may be fewer than asked when a remote range is not mapped. */
    public static long readv(int pid, MemorySegment localIov, long localCount, MemorySegment remoteIov, long remoteCount) {
        return Syscall.call("process_vm_readv(" + pid + ")", Linux.__NR_process_vm_readv(), pid,
                localIov.address(), localCount, remoteIov.address(), remoteCount, 0);
    }

    public static long writev(int pid, MemorySegment localIov, long localCount, MemorySegment remoteIov, long remoteCount) {
        return Syscall.call("process_vm_writev(" + pid + ")", Linux.__NR_process_vm_writev(), pid,
                localIov.address(), localCount, remoteIov.address(), remoteCount, 0);
    }
}
