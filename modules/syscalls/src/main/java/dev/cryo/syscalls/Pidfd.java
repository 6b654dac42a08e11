package dev.cryo.syscalls;

import dev.cryo.bindings.Linux;

/** Process file descriptors: a stable handle on a process, and a way to take its fds. */
public final class Pidfd {
    private Pidfd() {}

    public static Fd open(int pid) {
        return Fd.own((int) Syscall.call("pidfd_open(" + pid + ")", Linux.__NR_pidfd_open(), pid, 0));
    }

    /** A duplicate, in cryo, of the target's descriptor {@code targetFd}. */
    public static Fd getFd(Fd pidfd, int targetFd) {
        return Fd.own((int) Syscall.call("pidfd_getfd(" + targetFd + ")", Linux.__NR_pidfd_getfd(), pidfd.fd(), targetFd, 0));
    }
}
