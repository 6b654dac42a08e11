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

    /**
     * What the whole process is asked, in one lot of queries (one stop where the parasite can), before its
     * threads: its itimers, rlimits, every signal's action, the secure bits its threads' creds carry, its
     * program break and dumpable flag.
     */
    record Asked(TaskTimersEntry timers, TaskRlimitsEntry rlimits, List<SaEntry> sigactions, int securebits, long brk,
                 int dumpable) {}

    static TaskCoreEntry taskCore(int pid, Asked asked, boolean stopped, long leaderSigmask) {
        Proc.Stat stat = Proc.stat(pid);
        try (Arena arena = Arena.ofConfined()) {
            return TaskCoreEntry.newBuilder()
                    .setTaskState(stopped ? TASK_STOPPED : TASK_ALIVE)
                    .setExitCode(0)
                    .setPersonality((int) Long.parseLong(Proc.read(pid, "personality").strip(), 16))
                    .setFlags((int) stat.longField(9))
                    .setBlkSigset(leaderSigmask)
                    .setComm(stat.comm())
                    .setTimers(asked.timers())
                    .setRlimits(asked.rlimits())
                    .addAllSigactions(asked.sigactions())
                    .setSignalsS(ThreadCollector.pending(pid, true, arena))
                    .setOomScoreAdj(Integer.parseInt(Proc.read(pid, "oom_score_adj").strip()))
                    .setLoginuid((int) Long.parseLong(Proc.read(pid, "loginuid").strip()))
                    .build();
        }
    }

    /**
     * Asks the process (its leader) what only it can tell:
     * <ul>
     * <li>getitimer(which, &amp;old) for the three itimers;</li>
     * <li>prlimit64(0, r, NULL, &amp;old) for each limit: from outside, reading the limits of another user's
     *     process needs CAP_SYS_RESOURCE, which root lacks in some containers;</li>
     * <li>rt_sigaction(sig, NULL, &amp;old) for every signal but SIGKILL and SIGSTOP, written as CRIU writes
     *     them: all zero;</li>
     * <li>prctl(PR_GET_SECUREBITS), brk(0) (which moves nothing: it answers where the break is) and
     *     prctl(PR_GET_DUMPABLE).</li>
     * </ul>
     */
    static Asked ask(Parasite parasite) {
        try (Arena arena = Arena.ofConfined(); Scratch s = parasite.scratch()) {
            int[] which = {Kernel.ITIMER_REAL, Kernel.ITIMER_VIRTUAL, Kernel.ITIMER_PROF};
            long timerSize = TimeVal.Timer.allocate(arena).byteSize();
            long limitSize = Rlimits.Limit.allocate(arena).byteSize();
            long actionSize = SigAction.allocate(arena).byteSize();
            List<Parasite.Call> calls = new ArrayList<>();
            calls.add(new Parasite.Call("prctl(PR_GET_SECUREBITS)", Kernel.__NR_prctl, Kernel.PR_GET_SECUREBITS));
            calls.add(new Parasite.Call("brk", Kernel.__NR_brk, 0));
            calls.add(new Parasite.Call("prctl(PR_GET_DUMPABLE)", Kernel.__NR_prctl, Kernel.PR_GET_DUMPABLE));
            long[] timers = new long[which.length];
            for (int i = 0; i < which.length; i++) {
                timers[i] = s.reserve(timerSize);
                calls.add(new Parasite.Call("getitimer", Kernel.__NR_getitimer, which[i], timers[i]));
            }
            long[] limits = new long[Kernel.RLIMIT_NLIMITS];
            for (int r = 0; r < limits.length; r++) {
                limits[r] = s.reserve(limitSize);
                calls.add(new Parasite.Call("prlimit64(" + r + ")", Kernel.__NR_prlimit64, 0, r, 0, limits[r]));
            }
            long[] actions = new long[Kernel.CRYO_KERNEL_NSIG + 1];
            for (int sig = 1; sig <= Kernel.CRYO_KERNEL_NSIG; sig++) {
                if (sig != Kernel.SIGKILL && sig != Kernel.SIGSTOP) {
                    actions[sig] = s.reserve(actionSize);
                    calls.add(new Parasite.Call("rt_sigaction(" + sig + ")", Kernel.__NR_rt_sigaction, sig, 0, actions[sig], 8));
                }
            }
            long[] r = parasite.queries(s, calls);
            // everything the calls wrote, back in one read
            long from = timers[0];
            MemorySegment all = arena.allocate(s.reserve(0) - from, 8);
            s.read(from, all);

            ItimerEntry[] t = new ItimerEntry[which.length];
            for (int i = 0; i < which.length; i++) {
                TimeVal.Timer v = TimeVal.Timer.read(all.asSlice(timers[i] - from, timerSize));
                t[i] = ItimerEntry.newBuilder()
                        .setIsec(v.interval().sec()).setIusec(v.interval().usec())
                        .setVsec(v.value().sec()).setVusec(v.value().usec())
                        .build();
            }
            TaskRlimitsEntry.Builder rl = TaskRlimitsEntry.newBuilder();
            for (long at : limits) {
                Rlimits.Limit limit = Rlimits.Limit.read(all.asSlice(at - from, limitSize));
                rl.addRlimits(RlimitEntry.newBuilder().setCur(limit.cur()).setMax(limit.max()));
            }
            List<SaEntry> sa = new ArrayList<>();
            for (int sig = 1; sig <= Kernel.CRYO_KERNEL_NSIG; sig++) {
                if (actions[sig] == 0) {
                    sa.add(SaEntry.newBuilder().setSigaction(0).setFlags(0).setRestorer(0).setMask(0).build());
                    continue;
                }
                SigAction action = SigAction.read(all.asSlice(actions[sig] - from, actionSize));
                sa.add(SaEntry.newBuilder()
                        .setSigaction(action.handler())
                        .setFlags(action.flags())
                        .setRestorer(action.restorer())
                        .setMask(action.mask())
                        .build());
            }
            return new Asked(TaskTimersEntry.newBuilder().setReal(t[0]).setVirt(t[1]).setProf(t[2]).build(), rl.build(), sa,
                    (int) r[0], r[1], (int) r[2]);
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

    /** Credentials from /proc/PID/task/TID/status, with secure bits asked of the task. */
    record Creds(int securebits) {
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
