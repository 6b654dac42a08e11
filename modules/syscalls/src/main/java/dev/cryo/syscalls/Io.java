package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import dev.cryo.bindings.Linux;

/** File I/O on descriptors: open, read, write, seek, ioctl, fcntl, pipes and splicing. */
public final class Io {
    private Io() {}

    public static Fd open(String path, int flags) {
        return openAt(Linux.AT_FDCWD(), path, flags, 0);
    }

    public static Fd openAt(int dirfd, String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            return Fd.own((int) Syscall.call("openat(" + path + ")", Linux.__NR_openat(), dirfd, p.address(), flags | Linux.O_CLOEXEC(), mode));
        }
    }

    /** One {@code read(2)} into {@code buf}; returns the bytes read, 0 at end of file. */
    public static long read(int fd, MemorySegment buf) {
        return Syscall.call("read", Linux.__NR_read(), fd, buf.address(), buf.byteSize());
    }

    public static long pread(int fd, MemorySegment buf, long offset) {
        return Syscall.call("pread64", Linux.__NR_pread64(), fd, buf.address(), buf.byteSize(), offset);
    }

    /** One {@code write(2)} of {@code buf}; returns the bytes written. */
    public static long write(int fd, MemorySegment buf) {
        return Syscall.call("write", Linux.__NR_write(), fd, buf.address(), buf.byteSize());
    }

    /** Writes all of {@code buf}, looping over short writes. */
    public static void writeFully(int fd, MemorySegment buf) {
        long done = 0;
        while (done < buf.byteSize()) {
            done += write(fd, buf.asSlice(done));
        }
    }

    public static long lseek(int fd, long offset, int whence) {
        return Syscall.call("lseek", Linux.__NR_lseek(), fd, offset, whence);
    }

    public static long ioctl(String what, int fd, long request, long arg) {
        return Syscall.call("ioctl(" + what + ")", Linux.__NR_ioctl(), fd, request, arg);
    }

    /** fchown(2): the owner and group of the file {@code fd} is open on. */
    public static void fchown(Fd fd, int uid, int gid) {
        Syscall.call("fchown(" + uid + ", " + gid + ")", Linux.__NR_fchown(), fd.fd(), uid, gid);
    }

    /** fchmod(2): the permission bits of the file {@code fd} is open on. */
    public static void fchmod(Fd fd, int mode) {
        Syscall.call("fchmod(0" + Integer.toOctalString(mode) + ")", Linux.__NR_fchmod(), fd.fd(), mode);
    }

    public static long fcntl(int fd, int cmd, long arg) {
        return Syscall.call("fcntl", Linux.__NR_fcntl(), fd, cmd, arg);
    }

    /** A pipe's two ends, each with one owner. */
    public record Pipe(Fd read, Fd write) implements AutoCloseable {
        @Override
        public void close() {
            try (read; write) {
                // both ends closed, in reverse order
            }
        }
    }

    public static Pipe pipe(int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            Syscall.call("pipe2", Linux.__NR_pipe2(), fds.address(), flags | Linux.O_CLOEXEC());
            return new Pipe(Fd.own(fds.getAtIndex(ValueLayout.JAVA_INT, 0)), Fd.own(fds.getAtIndex(ValueLayout.JAVA_INT, 1)));
        }
    }

    /** {@code splice(2)} without offsets: moves up to {@code len} bytes from one fd to the other. */
    public static long splice(int in, int out, long len, int flags) {
        return Syscall.call("splice", Linux.__NR_splice(), in, 0, out, 0, len, flags);
    }

    /** {@code tee(2)}: duplicates up to {@code len} bytes of pipe {@code in} into pipe {@code out} without consuming them. */
    public static long tee(int in, int out, long len, int flags) {
        return Syscall.call("tee", Linux.__NR_tee(), in, out, len, flags);
    }

    /** The target of a symbolic link, e.g. {@code /proc/PID/fd/3}. */
    public static String readlink(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            MemorySegment buf = arena.allocate(4096);
            long n = Syscall.call("readlinkat(" + path + ")", Linux.__NR_readlinkat(), Linux.AT_FDCWD(), p.address(), buf.address(), buf.byteSize());
            return new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }
}
