package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.siginfo_t;

/** wait4(2) on exact pids, with the status decoded. */
public final class Wait {
    private Wait() {}

    /** A decoded wait status. {@code event} is the ptrace event (PTRACE_EVENT_STOP...) of a stop, or 0. */
    public record Status(int pid, int raw) {
        public boolean exited() {
            return (raw & 0x7f) == 0;
        }

        public int exitCode() {
            return (raw >> 8) & 0xff;
        }

        public boolean killed() {
            return !exited() && !stopped() && (raw & 0x7f) != 0x7f;
        }

        public int termSignal() {
            return raw & 0x7f;
        }

        public boolean stopped() {
            return (raw & 0xff) == 0x7f;
        }

        public int stopSignal() {
            return (raw >> 8) & 0xff;
        }

        /** A system-call entry or exit stop of a tracee seized with PTRACE_O_TRACESYSGOOD. */
        public boolean syscallStop() {
            return stopped() && stopSignal() == (Linux.SIGTRAP() | 0x80);
        }

        public int event() {
            return (raw >>> 16) & 0xff;
        }

        /** The task is gone: it exited or was killed. */
        public boolean gone() {
            return exited() || killed();
        }

        @Override
        public String toString() {
            if (exited()) return "pid " + pid + " exited with " + exitCode();
            if (killed()) return "pid " + pid + " killed by signal " + termSignal();
            return "pid " + pid + " stopped by signal " + stopSignal() + (event() != 0 ? " event " + event() : "");
        }
    }

    /** Waits for {@code pid} (a thread id too, with {@code __WALL}); returns null if WNOHANG found nothing. */
    public static Status waitPid(int pid, int options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(ValueLayout.JAVA_INT);
            while (true) {
                try {
                    long r = Syscall.call("wait4(" + pid + ")", Linux.__NR_wait4(), pid, status.address(), options, 0);
                    return r == 0 ? null : new Status((int) r, status.get(ValueLayout.JAVA_INT, 0));
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EINTR)) {
                        throw e;
                    }
                }
            }
        }
    }

    /**
     * Whether {@code tid}, a child or tracee of the caller, has exited and is not reaped yet: a look with
     * waitid(WNOWAIT) that takes nothing (a ptrace stop it finds stays to be waited for, as wait4 would take
     * it). False when there is nothing to report, or {@code tid} is no child or tracee (ECHILD).
     */
    public static boolean exitedUnreaped(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = siginfo_t.allocate(arena);
            Syscall.call("waitid(" + tid + ", WNOWAIT)", Linux.__NR_waitid(), Linux.P_PID(), tid, info.address(),
                    Linux.WEXITED() | Linux.WNOHANG() | Linux.WNOWAIT() | Linux.__WALL(), 0);
            int code = siginfo_t.si_code(info);
            int child = siginfo_t._sifields._sigchld.si_pid(siginfo_t._sifields._sigchld(siginfo_t._sifields(info)));
            return child == tid
                    && (code == Linux.CLD_EXITED() || code == Linux.CLD_KILLED() || code == Linux.CLD_DUMPED());
        } catch (ErrnoException e) {
            if (e.is(Errno.ECHILD)) {
                return false;
            }
            throw e;
        }
    }

    /** Waits for any state change of {@code pid}, thread or process. */
    public static Status waitAll(int pid) {
        return waitPid(pid, Linux.__WALL());
    }
}
