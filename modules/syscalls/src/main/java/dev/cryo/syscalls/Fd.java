package dev.cryo.syscalls;

import dev.cryo.bindings.Linux;

/** An open file descriptor with one owner: closing it twice, or after {@link #release()}, does nothing. */
public final class Fd implements AutoCloseable {
    private int fd;

    private Fd(int fd) {
        this.fd = fd;
    }

    /** Takes ownership of {@code fd}. */
    public static Fd own(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        return new Fd(fd);
    }

    public int fd() {
        if (fd < 0) {
            throw new IllegalStateException("file descriptor already closed");
        }
        return fd;
    }

    /** Gives up ownership without closing; the caller now owns the number. */
    public int release() {
        int n = fd();
        fd = -1;
        return n;
    }

    public boolean isOpen() {
        return fd >= 0;
    }

    @Override
    public void close() {
        if (fd >= 0) {
            int n = fd;
            fd = -1;
            Syscall.call("close", Linux.__NR_close(), n);
        }
    }

    @Override
    public String toString() {
        return "fd " + fd;
    }
}
