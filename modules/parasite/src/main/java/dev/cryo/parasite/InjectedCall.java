package dev.cryo.parasite;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.UserRegs;
import dev.cryo.syscalls.Wait;

/**
 * The mechanics of one system call run inside a ptrace-stopped thread: its registers are set to make the
 * call at a {@code syscall} instruction, and the thread is continued with PTRACE_SYSCALL to the call's
 * entry stop, then to its exit stop, where the result is read. The thread never runs an instruction past
 * the call while cryo drives it; what lies there matters only if cryo dies (see {@link SelfCure}).
 */
final class InjectedCall {
    private static final int SYSCALL_INSN = 2;

    private InjectedCall() {}

    /** Runs the call {@code regs} describe (rip at a syscall instruction) in {@code t}; returns rax at its exit stop. */
    static long run(Traced t, UserRegs regs) {
        int tid = t.tid();
        long ip = regs.rip();
        regs.write(tid);
        StopPoints.reach("call-set");
        Ptrace.syscall(tid, 0);
        boolean entered = false;
        while (true) {
            Wait.Status st = TraceeWait.next(t);
            if (st.gone()) {
                throw t.gone(st);
            }
            if (st.syscallStop()) {
                if (entered) {
                    regs.read(tid);
                    if (regs.rip() != ip + SYSCALL_INSN) {
                        throw new InfectionFailure(String.format("thread %d stopped at 0x%x after the call injected at 0x%x",
                                tid, regs.rip(), ip));
                    }
                    StopPoints.reach("call-exit");
                    return regs.rax();
                }
                entered = true;
                StopPoints.reach("call-entry");
            } else {
                t.unexpected(st);
            }
            Ptrace.syscall(tid, 0);
        }
    }

    /**
     * Runs code of cryo's from the registers {@code regs} until it stops on the int3 that ends it ({@code rip}
     * {@code end}, the byte after); returns rax there. For a task that dies with cryo (a puppet): an int3 is
     * a fatal SIGTRAP to a task nobody traces.
     */
    static long runToTrap(Traced t, UserRegs regs, long end) {
        int tid = t.tid();
        regs.write(tid);
        Ptrace.cont(tid, 0);
        while (true) {
            Wait.Status st = TraceeWait.next(t);
            if (st.gone()) {
                throw t.gone(st);
            }
            if (st.stopped() && st.event() == 0 && st.stopSignal() == Kernel.SIGTRAP) {
                regs.read(tid);
                if (regs.rip() == end) {
                    return regs.rax();
                }
                throw new InfectionFailure(String.format("thread %d stopped by SIGTRAP at 0x%x, not at the end of cryo's code (0x%x)",
                        tid, regs.rip(), end));
            }
            t.unexpected(st);
            Ptrace.cont(tid, 0);
        }
    }

    /**
     * Runs {@link SelfCure}'s loop from the registers {@code regs} until the thread stops with {@code signal}
     * at {@code stop}, right after the loop's stop call (a signal-delivery stop: the next resume with signal 0
     * drops it). Other signals on the way are held ({@link Traced#unexpected}); the loop's own calls make no
     * stops, as the thread runs under PTRACE_CONT.
     */
    static void runToSignal(Traced t, UserRegs regs, long stop, int signal) {
        int tid = t.tid();
        regs.write(tid);
        StopPoints.reach("batch-set");
        Ptrace.cont(tid, 0);
        while (true) {
            Wait.Status st = TraceeWait.next(t);
            if (st.gone()) {
                throw t.gone(st);
            }
            if (st.stopped() && st.event() == 0 && st.stopSignal() == signal) {
                regs.read(tid);
                if (regs.rip() == stop) {
                    StopPoints.reach("batch-stop");
                    return;
                }
            }
            t.unexpected(st);
            Ptrace.cont(tid, 0);
        }
    }

    /** Sets {@code regs} and continues the thread without waiting: for a call that does not return (exit_group). */
    static void launch(Traced t, UserRegs regs) {
        regs.write(t.tid());
        Ptrace.cont(t.tid(), 0);
    }

    /**
     * Brings a thread stopped at an injected call's exit back into the kind of stop it was seized in (a
     * PTRACE_INTERRUPT stop, inside the kernel's signal handling) and gives it {@code original} there.
     * Released from that stop, the kernel restarts a system call the thread was inside, or turns it into
     * EINTR for a signal with a handler, exactly as it would have without cryo; from a syscall-exit stop it
     * would return the restart code to the program instead.
     */
    static void returnTo(Traced t, UserRegs original) {
        int tid = t.tid();
        Ptrace.interrupt(tid);
        Ptrace.cont(tid, 0);
        while (true) {
            Wait.Status st = TraceeWait.next(t);
            if (st.gone()) {
                throw t.gone(st);
            }
            if (st.event() == Kernel.PTRACE_EVENT_STOP) {
                original.write(tid);
                return;
            }
            t.unexpected(st);
            Ptrace.cont(tid, 0);
        }
    }
}
