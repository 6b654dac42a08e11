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

    /**
     * Whether {@code signal}'s default action ends a process (terminate, or dump core): every signal from 1 to
     * 64 but those ignored (SIGCHLD, SIGCONT, SIGURG, SIGWINCH) and those that stop (signal(7)).
     */
    public static boolean endsAProcess(int signal) {
        if (signal < 1 || signal > Linux.CRYO_KERNEL_NSIG()) {
            return false;
        }
        for (int s : new int[] {Linux.SIGCHLD(), Linux.SIGCONT(), Linux.SIGURG(), Linux.SIGWINCH(),
                Linux.SIGSTOP(), Linux.SIGTSTP(), Linux.SIGTTIN(), Linux.SIGTTOU()}) {
            if (s == signal) {
                return false;
            }
        }
        return true;
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
