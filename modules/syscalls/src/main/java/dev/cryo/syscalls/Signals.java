package dev.cryo.syscalls;

import dev.cryo.bindings.Linux;

/** Sending signals to processes and threads. */
public final class Signals {
    private Signals() {}

    public static void kill(int pid, int signal) {
        Syscall.call("kill(" + pid + ")", Linux.__NR_kill(), pid, signal);
    }

    public static void tgkill(int tgid, int tid, int signal) {
        Syscall.call("tgkill(" + tid + ")", Linux.__NR_tgkill(), tgid, tid, signal);
    }

    /** Whether a process with this pid exists (signal 0 probes without sending). */
    public static boolean exists(int pid) {
        try {
            kill(pid, 0);
            return true;
        } catch (ErrnoException e) {
            return !e.is(Errno.ESRCH);
        }
    }
}
