package dev.cryo.parasite;

import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.user_regs_struct;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.Wait;

/**
 * One system call run inside a ptrace-stopped task, the one way cryo does it for the dump's parasite and
 * the restore's puppets: the task's registers are set to run {@code syscall; int3} ({@link #CODE}, placed
 * in the task's memory by the caller) with the call's number and arguments, the task is continued, and
 * the int3's SIGTRAP ends the call with its result in rax. No single-stepping: one PTRACE_CONT per call.
 */
public final class InjectedCall {
    /** {@code syscall} (0f 05) then {@code int3} (cc), little-endian: the code an injected call runs. */
    public static final long CODE = 0xcc050fL;

    private InjectedCall() {}

    /** What the caller does with the stops that do not end the call. */
    public interface Stops {
        /** The task exited or was killed during the call: the exception to throw. */
        RuntimeException gone(Wait.Status status);

        /**
         * A stop that is not the call's end: a ptrace event, or a signal, which is never delivered now (the
         * caller may keep it to send again later). The task is continued after this returns.
         */
        void other(Wait.Status status);
    }

    /**
     * Runs system call {@code nr} with {@code args} (six) in {@code tid}, at {@code ip}, where {@link #CODE}
     * is, starting from the registers {@code base}; {@code regs} is scratch space of the same size. Returns
     * rax. With {@code expectFault}, the call unmaps the code itself, and the task stops with SIGSEGV at the
     * int3 instead of reaching it.
     */
    public static long run(int tid, MemorySegment base, MemorySegment regs, long ip, long nr, long[] args,
                           boolean expectFault, Stops stops) {
        start(tid, base, regs, ip, nr, args);
        while (true) {
            Wait.Status st = Wait.waitAll(tid);
            if (st.gone()) {
                throw stops.gone(st);
            }
            if (st.event() == 0) {
                int sig = st.stopSignal();
                if (sig == Linux.SIGTRAP() || (expectFault && sig == Linux.SIGSEGV())) {
                    Ptrace.getRegset(tid, Linux.NT_PRSTATUS(), regs);
                    long rip = user_regs_struct.rip(regs);
                    if (rip == ip + 3 || (expectFault && rip == ip + 2)) {
                        return user_regs_struct.rax(regs);
                    }
                }
            }
            stops.other(st);
            Ptrace.cont(tid, 0);
        }
    }

    /**
     * Sets {@code tid}'s registers to make system call {@code nr} at {@code ip} and continues it, without
     * waiting: for a call that is not meant to return (exit_group, a fatal signal sent to itself).
     */
    public static void start(int tid, MemorySegment base, MemorySegment regs, long ip, long nr, long[] args) {
        regs.copyFrom(base);
        user_regs_struct.rip(regs, ip);
        user_regs_struct.rax(regs, nr);
        // orig_rax = -1: no syscall-restart processing of the injected state when the task resumes.
        user_regs_struct.orig_rax(regs, -1);
        user_regs_struct.rdi(regs, args[0]);
        user_regs_struct.rsi(regs, args[1]);
        user_regs_struct.rdx(regs, args[2]);
        user_regs_struct.r10(regs, args[3]);
        user_regs_struct.r8(regs, args[4]);
        user_regs_struct.r9(regs, args[5]);
        Ptrace.setRegset(tid, Linux.NT_PRSTATUS(), regs);
        Ptrace.cont(tid, 0);
    }
}
