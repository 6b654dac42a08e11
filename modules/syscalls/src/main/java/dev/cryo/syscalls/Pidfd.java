package dev.cryo.syscalls;

import dev.cryo.bindings.Linux;

/** Process file descriptors: a stable handle on a process, and a way to take its fds. */
public final class Pidfd {
    private Pidfd() {}

    public static Fd open(int pid) {
        return Fd.own((int) Syscall.call("pidfd_open(" + pid + ")", Linux.__NR_pidfd_open(), pid, 0));
    }

    /** pidfd_send_signal: {@code signal} to the process, which cannot be another that took its pid meanwhile. */
    public static void sendSignal(Fd pidfd, int signal) {
        Syscall.call("pidfd_send_signal", Linux.__NR_pidfd_send_signal(), pidfd.fd(), signal, 0, 0);
    }

    /** The pid of the pidfd's process as this process's pid namespace sees it ({@code Pid:} of its fdinfo), or -1 once it has exited. */
    public static int pid(Fd pidfd) {
        String info;
        try {
            info = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/fdinfo/" + pidfd.fd()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read the fdinfo of pidfd " + pidfd.fd(), e);
        }
        for (String line : info.split("\n")) {
            if (line.startsWith("Pid:")) {
                return Integer.parseInt(line.substring(4).trim());
            }
        }
        return -1;
    }

    /** A duplicate, in cryo, of the target's descriptor {@code targetFd}. */
    public static Fd getFd(Fd pidfd, int targetFd) {
        return Fd.own((int) Syscall.call("pidfd_getfd(" + targetFd + ")", Linux.__NR_pidfd_getfd(), pidfd.fd(), targetFd, 0));
    }
}
