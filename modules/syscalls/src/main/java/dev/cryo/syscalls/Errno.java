package dev.cryo.syscalls;

import java.util.HashMap;
import java.util.Map;

import dev.cryo.bindings.Linux;

/** The errno values cryo names in its messages, with their numbers from the kernel's headers. */
public enum Errno {
    EPERM(Linux.EPERM(), "operation not permitted"),
    ENOENT(Linux.ENOENT(), "no such file or directory"),
    ESRCH(Linux.ESRCH(), "no such process"),
    EINTR(Linux.EINTR(), "interrupted system call"),
    EIO(Linux.EIO(), "input/output error"),
    E2BIG(Linux.E2BIG(), "argument list too long"),
    EBADF(Linux.EBADF(), "bad file descriptor"),
    ECHILD(Linux.ECHILD(), "no child processes"),
    EAGAIN(Linux.EAGAIN(), "resource temporarily unavailable"),
    ENOMEM(Linux.ENOMEM(), "cannot allocate memory"),
    EACCES(Linux.EACCES(), "permission denied"),
    EFAULT(Linux.EFAULT(), "bad address"),
    EBUSY(Linux.EBUSY(), "device or resource busy"),
    EEXIST(Linux.EEXIST(), "file exists"),
    ENODEV(Linux.ENODEV(), "no such device"),
    ENOTDIR(Linux.ENOTDIR(), "not a directory"),
    EISDIR(Linux.EISDIR(), "is a directory"),
    EINVAL(Linux.EINVAL(), "invalid argument"),
    ENFILE(Linux.ENFILE(), "too many open files in system"),
    EMFILE(Linux.EMFILE(), "too many open files"),
    ENOTTY(Linux.ENOTTY(), "inappropriate ioctl for device"),
    ENOSPC(Linux.ENOSPC(), "no space left on device"),
    ESPIPE(Linux.ESPIPE(), "illegal seek"),
    EROFS(Linux.EROFS(), "read-only file system"),
    EPIPE(Linux.EPIPE(), "broken pipe"),
    ERANGE(Linux.ERANGE(), "result out of range"),
    ENAMETOOLONG(Linux.ENAMETOOLONG(), "file name too long"),
    ENOSYS(Linux.ENOSYS(), "function not implemented"),
    ELOOP(Linux.ELOOP(), "too many levels of symbolic links"),
    EOPNOTSUPP(Linux.EOPNOTSUPP(), "operation not supported"),
    EADDRINUSE(Linux.EADDRINUSE(), "address already in use"),
    EADDRNOTAVAIL(Linux.EADDRNOTAVAIL(), "cannot assign requested address"),
    EINPROGRESS(Linux.EINPROGRESS(), "operation now in progress"),
    ENOPROTOOPT(Linux.ENOPROTOOPT(), "protocol not available"),
    ENOTSOCK(Linux.ENOTSOCK(), "socket operation on non-socket"),
    ECONNREFUSED(Linux.ECONNREFUSED(), "connection refused"),
    ECONNRESET(Linux.ECONNRESET(), "connection reset by peer"),
    ETIMEDOUT(Linux.ETIMEDOUT(), "connection timed out"),
    EDQUOT(Linux.EDQUOT(), "disk quota exceeded"),
    ENOTCONN(Linux.ENOTCONN(), "transport endpoint is not connected"),
    EOVERFLOW(Linux.EOVERFLOW(), "value too large for defined data type");

    private static final Map<Integer, Errno> BY_NUMBER = new HashMap<>();

    static {
        for (Errno e : values()) {
            BY_NUMBER.putIfAbsent(e.number, e);
        }
    }

    private final int number;
    private final String text;

    Errno(int number, String text) {
        this.number = number;
        this.text = text;
    }

    public int number() {
        return number;
    }

    public static Errno of(int number) {
        return BY_NUMBER.get(number);
    }

    /** {@code no such process (ESRCH)}, or {@code errno 133} for a number cryo does not name. */
    public static String describe(int number) {
        Errno e = of(number);
        return e == null ? "errno " + number : e.text + " (" + e.name() + ")";
    }
}
