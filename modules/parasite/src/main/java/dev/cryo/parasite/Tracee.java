package dev.cryo.parasite;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.Signals;
import dev.cryo.syscalls.Wait;

/**
 * One seized, stopped thread. Signals that arrive while cryo holds it are kept here and sent again on
 * release, so none is lost or delivered early.
 */
public final class Tracee implements Traced {
    private final int pid;
    private final int tid;
    private boolean wasStopped;
    private final List<Integer> pendingSignals = new ArrayList<>();
    private boolean attached = true;

    private Tracee(int pid, int tid) {
        this.pid = pid;
        this.tid = tid;
    }

    /**
     * Seizes {@code tid} and stops it with PTRACE_INTERRUPT. Returns null if the thread is gone before it stopped.
     */
    static Tracee seize(int pid, int tid) {
        // TRACESYSGOOD: the parasite's calls end at syscall-exit stops, told from a real SIGTRAP by bit 0x80.
        Ptrace.seize(tid, Kernel.PTRACE_O_TRACESYSGOOD);
        Tracee t = new Tracee(pid, tid);
        try {
            Ptrace.interrupt(tid);
            t.wasStopped = t.awaitInterruptStop();
            return t;
        } catch (TaskExitedException e) {
            return null;
        } catch (RuntimeException e) {
            t.detachQuietly();
            throw e;
        }
    }

    /**
     * How long a task may take to reach its interrupt stop. PTRACE_INTERRUPT stops a task on its way back to
     * user space, within microseconds, unless it sleeps uninterruptibly (a vfork parent until its child execs
     * or exits, a read from a hung NFS server): then cryo gives up instead of holding the rest of the tree
     * frozen for as long as that lasts.
     */
    static final long STOP_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** Waits for the interrupt stop; signals delivered first are held back. Returns whether the task was in a group stop. */
    private boolean awaitInterruptStop() {
        long deadline = System.nanoTime() + STOP_TIMEOUT_NANOS;
        while (true) {
            Wait.Status st = awaitChange(deadline);
            if (st.gone()) {
                attached = false;
                throw new TaskExitedException(tid);
            }
            if (st.event() == Kernel.PTRACE_EVENT_STOP) {
                int sig = st.stopSignal();
                return sig == Kernel.SIGSTOP || sig == Kernel.SIGTSTP || sig == Kernel.SIGTTIN || sig == Kernel.SIGTTOU;
            }
            if (st.event() == 0) {
                holdSignal(st.stopSignal());
            }
            Ptrace.cont(tid, 0);
        }
    }

    /** The next state change of the thread, waited for until {@code deadline}. */
    private Wait.Status awaitChange(long deadline) {
        for (int polls = 0; ; polls++) {
            Wait.Status st = Wait.waitPid(tid, Kernel.__WALL | Kernel.WNOHANG);
            if (st != null) {
                return st;
            }
            if (System.nanoTime() > deadline) {
                throw new NotStoppingException(pid, tid);
            }
            if (polls < 200) {
                Thread.yield(); // it usually stops within microseconds
            } else {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }
    }

    /** A signal that stopped the tracee while cryo held it: suppressed now, sent again at release. */
    void holdSignal(int signal) {
        if (signal != Kernel.SIGTRAP && !pendingSignals.contains(signal)) {
            pendingSignals.add(signal);
        }
    }

    @Override
    public int pid() {
        return pid;
    }

    @Override
    public int tid() {
        return tid;
    }

    @Override
    public RuntimeException gone(Wait.Status status) {
        markGone();
        return new TaskExitedException(tid);
    }

    /** A signal that arrives during an injected call is held, and sent again when the tree is released. */
    @Override
    public void unexpected(Wait.Status status) {
        if (status.stopped() && status.event() == 0) {
            holdSignal(status.stopSignal());
        }
    }

    /** The task was in a job-control stop (SIGSTOP, SIGTSTP...) before cryo seized it. */
    public boolean wasStopped() {
        return wasStopped;
    }

    public List<Integer> pendingSignals() {
        return List.copyOf(pendingSignals);
    }

    /** Detaches, sending the held signals first so that they are pending when the thread runs again. */
    void release() {
        if (!attached) {
            return;
        }
        attached = false;
        try {
            for (int sig : pendingSignals) {
                Signals.tgkill(pid, tid, sig);
            }
            Ptrace.detach(tid, 0);
        } catch (ErrnoException e) {
            if (!e.is(Errno.ESRCH)) {
                throw e;
            }
        }
    }

    void detachQuietly() {
        if (!attached) {
            return;
        }
        attached = false;
        try {
            Ptrace.detach(tid, 0);
        } catch (ErrnoException ignored) {
            // already gone, or never stopped: the kernel drops the link when the task exits
        }
    }

    void markGone() {
        attached = false;
    }

    /** The thread did not reach its interrupt stop in time: it sleeps uninterruptibly (state D). */
    public static final class NotStoppingException extends dev.cryo.syscalls.CryoFailure {
        NotStoppingException(int pid, int tid) {
            super("thread " + tid + " of pid " + pid + " did not stop within "
                    + TimeUnit.NANOSECONDS.toSeconds(STOP_TIMEOUT_NANOS) + " s of PTRACE_INTERRUPT (" + where(pid, tid)
                    + "); it sleeps uninterruptibly, e.g. a vfork parent waiting for its child: try again once it is out");
        }

        private static String where(int pid, int tid) {
            try {
                return "state " + Proc.stat(pid, tid).state() + ", in " + Proc.read(pid, "task/" + tid + "/wchan").trim();
            } catch (RuntimeException e) {
                return "gone since";
            }
        }
    }

    /** The thread exited while cryo was working on it. */
    public static final class TaskExitedException extends dev.cryo.syscalls.CryoFailure {
        public TaskExitedException(int tid) {
            super("task " + tid + " exited during the dump");
        }
    }
}
