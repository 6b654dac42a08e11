package dev.cryo.restore.internal;

import java.lang.foreign.Arena;

import dev.cryo.parasite.Scratch;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.SigAction;

/**
 * A zombie of the dump, made again: its puppet, already in its place in the tree (pid, parent, session and
 * group), takes the zombie's name, signal dispositions and blocked signals, then ends with the zombie's status
 * (exits with its code, or is killed by its signal, as CRIU restores a zombie) and is left for its parent to reap.
 *
 * <p>What cannot come back: a core dump (bit 7 of the status), since the puppet must not write one; and
 * handlers the zombie set itself after fork, since a dead task's handlers cannot be read. It gets its parent's,
 * as fork gave them.
 */
final class ZombieRestore {
    private ZombieRestore() {}

    /** Ends {@code p} as {@code zombie} ended; {@code parent} is the core of its parent, whose dispositions it takes. */
    static void end(Puppet p, TreeImages.Zombie zombie, CoreEntry parent) {
        int signal = zombie.signal();
        ThreadRestore.name(p, zombie.core().getTc().getComm());
        ThreadRestore.sigactions(p, parent.getTc().getSigactionsList());
        long blocked = zombie.core().getTc().getBlkSigset();
        if (signal != 0) {
            // The signal must end the task as it ended the original: unblocked, and not caught by a handler taken
            // from the parent. (The original may have had it blocked, when another of its threads took it.)
            if (signal != Kernel.SIGKILL) {
                try (Arena a = Arena.ofConfined()) {
                    try (Scratch s = p.scratch()) {
                        p.syscall("rt_sigaction(" + signal + ", SIG_DFL)", Kernel.__NR_rt_sigaction, signal, s.put(SigAction.allocate(a)), 0, 8);
                    }
                }
            }
            blocked &= ~(1L << (signal - 1));
            // No core file for a restored death.
            p.syscall("prctl(PR_SET_DUMPABLE, 0)", Kernel.__NR_prctl, Kernel.PR_SET_DUMPABLE, 0);
        }
        Ptrace.setSigmask(p.pid(), blocked);
        p.die(zombie.exitCode(), signal);
    }
}
