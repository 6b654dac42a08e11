package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.ImageStore;
import dev.cryo.parasite.Tracee;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.UserRegs;

/**
 * The system calls that a pre-dump stopped with ERESTART_RESTARTBLOCK (nanosleep, clock_nanosleep, poll,
 * a futex wait with a timeout). Released, such a thread goes on in restart_syscall, and the call it
 * continues lives only in the kernel's restart block: a later dump that stops it there sees
 * restart_syscall in orig_ax and nothing else. Each pre-dump therefore records, per thread, the call it
 * was stopped in, with the instruction pointer and argument registers to recognise it by, and carries the
 * record of the step before forward for threads still in the same call. The final dump takes the original
 * call from its parent's record, so that restore makes that call again instead of a restart_syscall that
 * a new task has no restart block for (and that would end the sleep with EINTR).
 */
final class InterruptedCalls {
    static final String RECORD = "cryo-restart.txt";

    /** The call a thread was stopped in, and the registers the kernel keeps unchanged while it continues it. */
    record Call(long nr, long ip, long di, long si, long dx, long r10, long r8, long r9) {
        static Call of(long nr, UserRegs regs) {
            return new Call(nr, regs.rip(), regs.rdi(), regs.rsi(), regs.rdx(), regs.r10(), regs.r8(), regs.r9());
        }

        boolean sameSite(Call other) {
            return ip == other.ip && di == other.di && si == other.si && dx == other.dx && r10 == other.r10
                    && r8 == other.r8 && r9 == other.r9;
        }
    }

    private final Map<Integer, Call> calls = new LinkedHashMap<>();

    /** What the snapshot in {@code store} recorded; empty if none (a first pre-dump, or a store without one). */
    static InterruptedCalls read(ImageStore store) {
        InterruptedCalls out = new InterruptedCalls();
        SnapshotRecords.read(store, RECORD, 9, f -> {
            long[] v = new long[8];
            for (int i = 0; i < 8; i++) {
                v[i] = Long.parseUnsignedLong(f[i + 1], 16);
            }
            out.calls.put(Integer.parseInt(f[0]), new Call(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]));
        });
        return out;
    }

    /**
     * Notes, for a pre-dump, the call of each of {@code threads} stopped with ERESTART_RESTARTBLOCK: the
     * call itself, or for a thread already in restart_syscall, the call {@code before} recorded for it.
     */
    void note(List<Tracee> threads, InterruptedCalls before) {
        try (Arena arena = Arena.ofConfined()) {
            UserRegs regs = new UserRegs();
            for (Tracee t : threads) {
                regs.read(t.tid());
                if (regs.rax() != UserRegs.ERESTART_RESTARTBLOCK || regs.origRax() < 0) {
                    continue;
                }
                long nr = before.original(t.tid(), regs);
                if (nr >= 0) {
                    calls.put(t.tid(), Call.of(nr, regs));
                }
            }
        }
    }

    /**
     * The call a thread stopped with ERESTART_RESTARTBLOCK (registers {@code regs}) is in: orig_ax itself,
     * or, when that is restart_syscall, the call recorded for the thread at the same instruction with the
     * same arguments; -1 if the record has none.
     */
    long original(int tid, UserRegs regs) {
        long nr = regs.origRax();
        if (nr != Kernel.__NR_restart_syscall) {
            return nr;
        }
        Call c = calls.get(tid);
        return c != null && c.sameSite(Call.of(c.nr(), regs)) ? c.nr() : -1;
    }

    boolean isEmpty() {
        return calls.isEmpty();
    }

    void write(ImageStore store) {
        StringBuilder text = new StringBuilder("# tid, then in hex: the call it continues by restart_syscall, ip, di, si, dx, r10, r8, r9\n");
        calls.forEach((tid, c) -> text.append(tid).append(String.format(" %x %x %x %x %x %x %x %x\n",
                c.nr(), c.ip(), c.di(), c.si(), c.dx(), c.r10(), c.r8(), c.r9())));
        SnapshotRecords.write(store, RECORD, text);
    }
}
