package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.iovec;

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

    /** Copies all of {@code data} to {@code addr} in process {@code pid}, which must be mapped writable there. */
    public static void writeFully(int pid, long addr, MemorySegment data) {
        transfer(pid, addr, data, true);
    }

    /** Copies {@code into.byteSize()} bytes at {@code addr} in process {@code pid} into {@code into}. */
    public static void readFully(int pid, long addr, MemorySegment into) {
        transfer(pid, addr, into, false);
    }

    private static void transfer(int pid, long addr, MemorySegment local, boolean write) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = iovec.allocate(a);
            MemorySegment r = iovec.allocate(a);
            long done = 0;
            while (done < local.byteSize()) {
                long len = local.byteSize() - done;
                iovec.iov_base(l, local.asSlice(done));
                iovec.iov_len(l, len);
                iovec.iov_base(r, MemorySegment.ofAddress(addr + done));
                iovec.iov_len(r, len);
                long n = write ? writev(pid, l, 1, r, 1) : readv(pid, l, 1, r, 1);
                if (n <= 0) {
                    throw new IllegalStateException(String.format("%s 0x%x in pid %d: %d of %d bytes done",
                            write ? "cannot write at" : "cannot read at", addr + done, pid, done, local.byteSize()));
                }
                done += n;
            }
        }
    }
}
