package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.function.LongSupplier;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.iovec;
import dev.cryo.syscalls.ProcessVm;

/**
 * The system calls that cryo injects into one puppet task, as the file and state restorers see them: a
 * call, and the scratch memory its pointer arguments live in. Built from the puppet by the restore run
 * ({@code new InTask(p.pid(), p::syscall, p::scratch, p::writeScratch)}).
 */
public record InTask(int pid, Call call, LongSupplier scratch, ScratchWriter scratchWriter) {
    /** Scratch offsets: [0, 4 KiB) a path, [4 KiB, 8 KiB) a struct; the rest belongs to others. */
    static final long PATH_AT = 0;
    static final long STRUCT_AT = 4096;
    static final int PATH_MAX = 4095;

    /** Runs system call {@code nr} inside the task; returns its result or throws naming the call and errno. */
    @FunctionalInterface
    public interface Call {
        long syscall(String name, long nr, long... args);
    }

    @FunctionalInterface
    public interface ScratchWriter {
        void write(long offset, MemorySegment data);
    }

    public long syscall(String name, long nr, long... args) {
        return call.syscall(name, nr, args);
    }

    /** Copies {@code data} to the struct area of scratch; returns its address in the task. */
    public long putStruct(MemorySegment data) {
        if (data.byteSize() > 4096) {
            throw new IllegalArgumentException("struct of " + data.byteSize() + " bytes does not fit the scratch area");
        }
        scratchWriter.write(STRUCT_AT, data);
        return scratch.getAsLong() + STRUCT_AT;
    }

    /** Copies {@code path} (NUL-terminated) to the path area of scratch; returns its address in the task. */
    public long putPath(String path) {
        byte[] b = path.getBytes(StandardCharsets.UTF_8);
        if (b.length > PATH_MAX) {
            throw new IllegalArgumentException("path longer than " + PATH_MAX + " bytes: " + path);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(b.length + 1L);
            s.copyFrom(MemorySegment.ofArray(b));
            scratchWriter.write(PATH_AT, s);
        }
        return scratch.getAsLong() + PATH_AT;
    }

    /** openat(AT_FDCWD, path, flags) inside the task; the fd gets the lowest free number. */
    public int open(String path, int flags, int mode) {
        return (int) syscall("openat(" + path + ")", Linux.__NR_openat(), Linux.AT_FDCWD(), putPath(path), flags, mode);
    }

    /** Copies {@code dst.byteSize()} bytes at {@code addr} in the task into {@code dst} (process_vm_readv). */
    public void read(long addr, MemorySegment dst) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = iovec.allocate(a);
            MemorySegment r = iovec.allocate(a);
            iovec.iov_base(l, dst);
            iovec.iov_len(l, dst.byteSize());
            iovec.iov_base(r, MemorySegment.ofAddress(addr));
            iovec.iov_len(r, dst.byteSize());
            long n = ProcessVm.readv(pid, l, 1, r, 1);
            if (n != dst.byteSize()) {
                throw new IllegalStateException("task " + pid + ": read " + n + " of " + dst.byteSize()
                        + " bytes at 0x" + Long.toHexString(addr));
            }
        }
    }

    public void close(int fd) {
        syscall("close(" + fd + ")", Linux.__NR_close(), fd);
    }

    @Override
    public String toString() {
        return "task " + pid;
    }
}
