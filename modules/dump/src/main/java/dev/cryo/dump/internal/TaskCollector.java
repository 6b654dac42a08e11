package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.images.proto.CredsEntry;
import dev.cryo.images.proto.ItimerEntry;
import dev.cryo.images.proto.RlimitEntry;
import dev.cryo.images.proto.SaEntry;
import dev.cryo.images.proto.TaskCoreEntry;
import dev.cryo.images.proto.TaskRlimitsEntry;
import dev.cryo.images.proto.TaskTimersEntry;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Rlimits;
import dev.cryo.syscalls.SigAction;
import dev.cryo.syscalls.TimeVal;

/** Collects what belongs to a whole process: signal handlers, itimers, rlimits, credentials, personality. */
final class TaskCollector {
    /** CRIU's task states (images/core.proto); a zombie is TASK_DEAD. */
    private static final int TASK_ALIVE = 1;
    private static final int TASK_DEAD = 2;
    private static final int TASK_STOPPED = 3;
    /** exit_code in /proc/PID/stat (proc(5)): the status wait() will report, for a zombie. */
    private static final int STAT_EXIT_CODE = 52;

    private TaskCollector() {}

    static TaskCoreEntry taskCore(int pid, Parasite parasite, boolean stopped, long leaderSigmask) {
        Proc.Stat stat = Proc.stat(pid);
        try (Arena arena = Arena.ofConfined()) {
            return TaskCoreEntry.newBuilder()
                    .setTaskState(stopped ? TASK_STOPPED : TASK_ALIVE)
                    .setExitCode(0)
                    .setPersonality((int) Long.parseLong(Proc.read(pid, "personality").strip(), 16))
                    .setFlags((int) stat.longField(9))
                    .setBlkSigset(leaderSigmask)
                    .setComm(stat.comm())
                    .setTimers(itimers(parasite, arena))
                    .setRlimits(rlimits(parasite, arena))
                    .addAllSigactions(sigactions(parasite, arena))
                    .setSignalsS(ThreadCollector.pending(pid, true, arena))
                    .setOomScoreAdj(Integer.parseInt(Proc.read(pid, "oom_score_adj").strip()))
                    .setLoginuid((int) Long.parseLong(Proc.read(pid, "loginuid").strip()))
                    .build();
        }
    }

    /**
     * What is left of a zombie, all from /proc (it cannot be seized): the status its parent will reap
     * (exit code or terminating signal, as wait reports it), its name, flags, personality and blocked
     * signals. As CRIU writes it: no handlers, timers or limits, which died with the task.
     */
    static TaskCoreEntry deadTaskCore(int pid) {
        Proc.Stat stat = Proc.stat(pid);
        String blocked = Proc.status(pid, "SigBlk");
        return TaskCoreEntry.newBuilder()
                .setTaskState(TASK_DEAD)
                .setExitCode((int) stat.longField(STAT_EXIT_CODE))
                .setPersonality((int) Long.parseLong(Proc.read(pid, "personality").strip(), 16))
                .setFlags((int) stat.longField(9))
                .setBlkSigset(blocked == null ? 0 : Long.parseUnsignedLong(blocked, 16))
                .setComm(stat.comm())
                .build();
    }

    /** rt_sigaction(sig, NULL, &old) inside the task for every signal, SIGKILL and SIGSTOP included as CRIU does. */
    private static List<SaEntry> sigactions(Parasite parasite, Arena arena) {
        List<SaEntry> out = new ArrayList<>();
        MemorySegment sa = SigAction.allocate(arena);
        for (int sig = 1; sig <= Kernel.CRYO_KERNEL_NSIG; sig++) {
            if (sig == Kernel.SIGKILL || sig == Kernel.SIGSTOP) {
                out.add(SaEntry.newBuilder().setSigaction(0).setFlags(0).setRestorer(0).setMask(0).build());
                continue;
            }
            try (Scratch s = parasite.scratch()) {
                long at = s.reserve(sa.byteSize());
                parasite.syscall("rt_sigaction", Kernel.__NR_rt_sigaction, sig, 0, at, 8);
                s.read(at, sa);
            }
            SigAction action = SigAction.read(sa);
            out.add(SaEntry.newBuilder()
                    .setSigaction(action.handler())
                    .setFlags(action.flags())
                    .setRestorer(action.restorer())
                    .setMask(action.mask())
                    .build());
        }
        return out;
    }

    private static TaskTimersEntry itimers(Parasite parasite, Arena arena) {
        ItimerEntry[] t = new ItimerEntry[3];
        int[] which = {Kernel.ITIMER_REAL, Kernel.ITIMER_VIRTUAL, Kernel.ITIMER_PROF};
        MemorySegment v = TimeVal.Timer.allocate(arena);
        for (int i = 0; i < 3; i++) {
            try (Scratch s = parasite.scratch()) {
                long at = s.reserve(v.byteSize());
                parasite.syscall("getitimer", Kernel.__NR_getitimer, which[i], at);
                s.read(at, v);
            }
            TimeVal.Timer timer = TimeVal.Timer.read(v);
            t[i] = ItimerEntry.newBuilder()
                    .setIsec(timer.interval().sec()).setIusec(timer.interval().usec())
                    .setVsec(timer.value().sec()).setVusec(timer.value().usec())
                    .build();
        }
        return TaskTimersEntry.newBuilder().setReal(t[0]).setVirt(t[1]).setProf(t[2]).build();
    }

    /**
     * prlimit64(0, r, NULL, &old) inside the task: from outside, reading the limits of another user's
     * process needs CAP_SYS_RESOURCE, which root lacks in some containers.
     */
    private static TaskRlimitsEntry rlimits(Parasite parasite, Arena arena) {
        TaskRlimitsEntry.Builder b = TaskRlimitsEntry.newBuilder();
        MemorySegment lim = Rlimits.Limit.allocate(arena);
        for (int r = 0; r < Kernel.RLIMIT_NLIMITS; r++) {
            try (Scratch s = parasite.scratch()) {
                long at = s.reserve(lim.byteSize());
                parasite.syscall("prlimit64(" + r + ")", Kernel.__NR_prlimit64, 0, r, 0, at);
                s.read(at, lim);
            }
            Rlimits.Limit limit = Rlimits.Limit.read(lim);
            b.addRlimits(RlimitEntry.newBuilder().setCur(limit.cur()).setMax(limit.max()));
        }
        return b.build();
    }

    /** Credentials from /proc/PID/task/TID/status, with secure bits asked of the task. */
    record Creds(int securebits) {
        static Creds of(Parasite parasite) {
            return new Creds((int) parasite.syscall("prctl(PR_GET_SECUREBITS)", Kernel.__NR_prctl, Kernel.PR_GET_SECUREBITS));
        }

        CredsEntry forThread(int pid, int tid) {
            String status = Proc.read(pid, "task/" + tid + "/status");
            long[] uid = ids(field(status, "Uid"));
            long[] gid = ids(field(status, "Gid"));
            CredsEntry.Builder b = CredsEntry.newBuilder()
                    .setUid((int) uid[0]).setEuid((int) uid[1]).setSuid((int) uid[2]).setFsuid((int) uid[3])
                    .setGid((int) gid[0]).setEgid((int) gid[1]).setSgid((int) gid[2]).setFsgid((int) gid[3])
                    .setSecbits(securebits);
            caps(field(status, "CapInh"), b::addCapInh);
            caps(field(status, "CapPrm"), b::addCapPrm);
            caps(field(status, "CapEff"), b::addCapEff);
            caps(field(status, "CapBnd"), b::addCapBnd);
            for (long g : ids(field(status, "Groups"))) {
                b.addGroups((int) g);
            }
            return b.build();
        }

        private static String field(String status, String name) {
            for (String line : status.split("\n")) {
                if (line.startsWith(name + ":")) {
                    return line.substring(name.length() + 1).trim();
                }
            }
            return "";
        }

        private static long[] ids(String text) {
            if (text.isBlank()) {
                return new long[0];
            }
            String[] f = text.trim().split("\\s+");
            long[] out = new long[f.length];
            for (int i = 0; i < f.length; i++) {
                out[i] = Long.parseLong(f[i]);
            }
            return out;
        }

        /** A 64-bit capability set as CRIU stores it: two u32 words, low first. */
        private static void caps(String hex, java.util.function.IntConsumer add) {
            long v = Long.parseUnsignedLong(hex, 16);
            add.accept((int) v);
            add.accept((int) (v >>> 32));
        }
    }

}
