package dev.cryo.restore.internal.state;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.CredsEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.ItimerEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.RlimitEntry;
import dev.cryo.images.proto.SiginfoEntry;
import dev.cryo.images.proto.SignalQueueEntry;
import dev.cryo.images.proto.TaskCoreEntry;
import dev.cryo.images.proto.ThreadCoreEntry;
import dev.cryo.restore.internal.CallBatch;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Rlimits;
import dev.cryo.syscalls.SigInfo;
import dev.cryo.syscalls.TimeVal;

/**
 * What the kernel keeps per task beside memory and files, set from inside the puppet with injected calls:
 * root and cwd, umask, personality, oom_score_adj, loginuid, scheduling policy and nice, rlimits, itimers,
 * pending signals, then the credentials (after them the task may no longer be allowed what the earlier
 * steps need), and last the dumpable flag (a change of credentials resets it). Threads other than the
 * leader get their own scheduling, personality, pending signals and credentials ({@link #thread}). Run
 * after the fds and before the registers. The calls go in batches ({@link CallBatch}), a stop of the task for
 * many of them: only a call whose result a later one needs ends a batch.
 */
public final class TaskState {
    /** linux/securebits.h: issecure_mask(SECURE_NO_SETUID_FIXUP), a function-like macro that jextract cannot evaluate. */
    private static final int SECBIT_NO_SETUID_FIXUP = 1 << 2;

    private TaskState() {}

    /** {@code dumpedPid} names the task's images; {@code in} may run under another pid (a new pid namespace). */
    public static void restore(Puppet in, ImageStore store, int dumpedPid, CoreEntry core) {
        MmEntry mm = store.readEntry(ImageKind.MM, dumpedPid, MmEntry.parser());
        try (CallBatch b = new CallBatch(in)) {
            fs(b, store, dumpedPid);
            scheduling(b, core.getThreadCore());
            if (core.hasTc()) {
                TaskCoreEntry tc = core.getTc();
                personality(b, tc.getPersonality());
                if (tc.hasOomScoreAdj()) {
                    oomScoreAdj(in.pid(), tc.getOomScoreAdj());
                }
                if (tc.hasLoginuid()) {
                    loginuid(b, in.pid(), tc.getLoginuid());
                }
                if (tc.hasRlimits()) {
                    rlimits(b, tc.getRlimits().getRlimitsList());
                }
                // Everything from here may raise a signal (an itimer firing, a pending signal queued): block all
                // until the registers set the dumped mask, or the puppet's injection loop would swallow it.
                blockAll(b);
                if (tc.hasTimers()) {
                    itimer(b, Kernel.ITIMER_REAL, tc.getTimers().getReal());
                    itimer(b, Kernel.ITIMER_VIRTUAL, tc.getTimers().getVirt());
                    itimer(b, Kernel.ITIMER_PROF, tc.getTimers().getProf());
                }
                if (tc.hasSignalsS()) {
                    pending(b, in.pid(), tc.getSignalsS(), true);
                }
            } else {
                blockAll(b);
            }
            if (core.getThreadCore().hasSignalsP()) {
                pending(b, in.pid(), core.getThreadCore().getSignalsP(), false);
            }
            if (core.getThreadCore().hasCreds()) {
                creds(b, core.getThreadCore().getCreds());
            }
            if (mm.hasDumpable()) {
                dumpable(b, mm.getDumpable());
            }
            b.run();
        }
    }

    /**
     * A thread other than the leader, before the leader's {@link #restore}: its scheduling, the process's
     * personality (each thread has its own copy; the dump records the leader's), its own pending signals,
     * queued from inside it with all signals blocked until the registers set its dumped mask, and its
     * credentials: setresuid and capset change only the calling thread.
     */
    public static void thread(Puppet thread, CoreEntry core, CoreEntry leader) {
        try (CallBatch b = new CallBatch(thread)) {
            scheduling(b, core.getThreadCore());
            if (leader.hasTc()) {
                personality(b, leader.getTc().getPersonality());
            }
            if (core.getThreadCore().hasSignalsP() && core.getThreadCore().getSignalsP().getSignalsCount() > 0) {
                blockAll(b);
                pending(b, thread.pid(), core.getThreadCore().getSignalsP(), false);
            }
            if (core.getThreadCore().hasCreds()) {
                creds(b, core.getThreadCore().getCreds());
            }
            b.run();
        }
    }

    /** personality(2): the execution domain and flags (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC...) for later execs and mmaps. */
    static void personality(CallBatch in, int persona) {
        in.add("personality(0x" + Integer.toHexString(persona) + ")", Kernel.__NR_personality, Integer.toUnsignedLong(persona));
    }

    /**
     * The thread's scheduling policy with its real-time priority, then its nice value: the puppet has cryo's,
     * and a nice below cryo's or a real-time policy needs the privilege the puppet has until its credentials.
     */
    static void scheduling(CallBatch in, ThreadCoreEntry tc) {
        if (tc.hasSchedPolicy()) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment param = a.allocate(ValueLayout.JAVA_INT); // struct sched_param { int sched_priority; }
                param.set(ValueLayout.JAVA_INT, 0, tc.hasSchedPrio() ? tc.getSchedPrio() : 0);
                in.add("sched_setscheduler(policy " + tc.getSchedPolicy() + ", priority " + tc.getSchedPrio() + ")",
                        Kernel.__NR_sched_setscheduler, 0, tc.getSchedPolicy(), in.put(param));
            }
        }
        if (tc.hasSchedNice()) {
            // who 0 with PRIO_PROCESS is the calling thread: Linux keeps a nice value per thread
            in.add("setpriority(nice " + tc.getSchedNice() + ")", Kernel.__NR_setpriority, Kernel.PRIO_PROCESS, 0, tc.getSchedNice());
        }
    }

    /** /proc/PID/oom_score_adj, written by cryo (root may lower it); per process. */
    static void oomScoreAdj(int pid, int value) {
        Path file = Path.of("/proc", Integer.toString(pid), "oom_score_adj");
        try {
            if (Integer.parseInt(Files.readString(file).strip()) != value) {
                Files.writeString(file, Integer.toString(value));
            }
        } catch (IOException e) {
            throw new RestoreError("cannot set oom_score_adj " + value + " (" + e.getMessage() + ")"
                    + "; lowering it needs CAP_SYS_RESOURCE", e);
        }
    }

    /**
     * The audit login uid, which only the task itself may write (/proc/self/loginuid, with CAP_AUDIT_CONTROL,
     * which the puppet has until its credentials); left alone when the puppet's is the dumped one already.
     */
    static void loginuid(CallBatch in, int pid, int loginuid) {
        String value = Integer.toUnsignedString(loginuid);
        try {
            if (Files.readString(Path.of("/proc", Integer.toString(pid), "loginuid")).strip().equals(value)) {
                return;
            }
        } catch (IOException e) {
            return; // no audit support in this kernel: nothing to restore it into
        }
        long fd = in.call("openat(/proc/self/loginuid)", Kernel.__NR_openat, Kernel.AT_FDCWD, in.putString("/proc/self/loginuid"),
                Kernel.O_WRONLY | Kernel.O_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment text = a.allocateFrom(value); // NUL-terminated; the NUL is not written
            long n = in.call("write(loginuid " + value + ")", Kernel.__NR_write, fd, in.put(text), value.length());
            if (n != value.length()) {
                throw new RestoreError("wrote " + n + " of " + value.length() + " bytes of loginuid " + value);
            }
        } finally {
            in.call("close(" + fd + ")", Kernel.__NR_close, fd);
        }
    }

    /**
     * mm's dumpable flag, after the credentials (commit_creds resets it to fs.suid_dumpable when the uids
     * change: a task of another user restored by root would otherwise come back non-dumpable, its owner
     * unable to read its /proc/PID/maps or ptrace it). prctl sets 0 or 1 only; SUID_DUMP_ROOT (2), which
     * fs.suid_dumpable=2 gives, stays if the kernel gave it again, else becomes 0, which allows nobody more.
     */
    static void dumpable(CallBatch in, int dumpable) {
        if (dumpable == Kernel.CRYO_SUID_DUMP_ROOT) {
            long now = in.call("prctl(PR_GET_DUMPABLE)", Kernel.__NR_prctl, Kernel.PR_GET_DUMPABLE);
            if (now != Kernel.CRYO_SUID_DUMP_ROOT) {
                in.add("prctl(PR_SET_DUMPABLE, 0)", Kernel.__NR_prctl, Kernel.PR_SET_DUMPABLE, 0);
            }
            return;
        }
        in.add("prctl(PR_SET_DUMPABLE, " + dumpable + ")", Kernel.__NR_prctl, Kernel.PR_SET_DUMPABLE, dumpable);
    }

    /** chroot, chdir and umask from fs-PID.img, the paths from files.img. */
    static void fs(CallBatch in, ImageStore store, int dumpedPid) {
        FsEntry fs = store.readEntry(ImageKind.FS, dumpedPid, FsEntry.parser());
        Map<Integer, String> paths = new HashMap<>();
        try (EntryReader r = store.openReader(ImageKind.FILES)) {
            for (FileEntry f : r.readAll(FileEntry.parser())) {
                if (f.hasReg() && (f.getId() == fs.getRootId() || f.getId() == fs.getCwdId())) {
                    paths.put(f.getId(), f.getReg().getName());
                }
            }
        }
        String root = paths.get(fs.getRootId());
        String cwd = paths.get(fs.getCwdId());
        if (root != null && !root.equals("/")) {
            in.add("chroot(" + root + ")", Kernel.__NR_chroot, in.putString(root));
        }
        if (cwd != null) {
            in.add("chdir(" + cwd + ")", Kernel.__NR_chdir, in.putString(cwd));
        }
        if (fs.hasUmask()) {
            in.add("umask(0" + Integer.toOctalString(fs.getUmask()) + ")", Kernel.__NR_umask, fs.getUmask());
        }
    }

    /**
     * Before the fds go in: raises the task's RLIMIT_NOFILE to the dumped one where that is higher, so that
     * fds up to the dumped limit have room (the puppet has cryo's limit, which may be lower). Never lowers it
     * here: a task may have lowered its limit below fds it already held. The hard ceiling can only go up with
     * CAP_SYS_RESOURCE; without it the soft value goes as high as the ceiling allows. The dumped limits are
     * set exactly with the rest of the task's state.
     */
    public static void raiseFileLimit(int pid, CoreEntry core) {
        if (!core.hasTc() || !core.getTc().hasRlimits() || core.getTc().getRlimits().getRlimitsCount() <= Kernel.RLIMIT_NOFILE) {
            return;
        }
        RlimitEntry dumped = core.getTc().getRlimits().getRlimits(Kernel.RLIMIT_NOFILE);
        Rlimits.Limit now = Rlimits.get(pid, Kernel.RLIMIT_NOFILE);
        Rlimits.Limit want = new Rlimits.Limit(Long.compareUnsigned(dumped.getCur(), now.cur()) > 0 ? dumped.getCur() : now.cur(),
                Long.compareUnsigned(dumped.getMax(), now.max()) > 0 ? dumped.getMax() : now.max());
        if (want.equals(now)) {
            return;
        }
        try {
            Rlimits.set(pid, Kernel.RLIMIT_NOFILE, want);
        } catch (ErrnoException e) {
            if (!e.is(Errno.EPERM)) {
                throw e;
            }
            long cur = Long.compareUnsigned(want.cur(), now.max()) > 0 ? now.max() : want.cur();
            Rlimits.set(pid, Kernel.RLIMIT_NOFILE, new Rlimits.Limit(cur, now.max()));
        }
    }

    static void rlimits(CallBatch in, List<RlimitEntry> limits) {
        try (Arena a = Arena.ofConfined()) {
            for (int r = 0; r < limits.size() && r < Kernel.RLIMIT_NLIMITS; r++) {
                MemorySegment lim = new Rlimits.Limit(limits.get(r).getCur(), limits.get(r).getMax()).write(a);
                in.add("prlimit64(resource " + r + ")", Kernel.__NR_prlimit64, 0, r, in.put(lim), 0);
            }
        }
    }

    private static void blockAll(CallBatch in) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment all = a.allocate(8);
            all.set(ValueLayout.JAVA_LONG, 0, -1L);
            in.add("rt_sigprocmask(SIG_SETMASK, all)", Kernel.__NR_rt_sigprocmask, Kernel.SIG_SETMASK, in.put(all), 0, 8);
        }
    }

    static void itimer(CallBatch in, int which, ItimerEntry t) {
        if (t.getVsec() == 0 && t.getVusec() == 0) {
            return; // disarmed, as in a fresh task
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = new TimeVal.Timer(new TimeVal(t.getIsec(), t.getIusec()), new TimeVal(t.getVsec(), t.getVusec())).write(a);
            in.add("setitimer(" + which + ")", Kernel.__NR_setitimer, which, in.put(v), 0);
        }
    }

    /** Queues each dumped siginfo again, process-wide or to the thread; the task sends them to itself, so any si_code goes. */
    static void pending(CallBatch in, int pid, SignalQueueEntry q, boolean shared) {
        if (q.getSignalsCount() == 0) {
            return;
        }
        // the task's own pid as it sees it: another one than cryo's view inside a new pid namespace
        long self = in.call("getpid", Kernel.__NR_getpid);
        long tid = in.call("gettid", Kernel.__NR_gettid);
        try (Arena a = Arena.ofConfined()) {
            for (SiginfoEntry s : q.getSignalsList()) {
                byte[] info = s.getSiginfo().toByteArray();
                if (info.length != SigInfo.SIZE) {
                    throw new RestoreError("pid " + pid + ": a pending siginfo of " + info.length + " bytes, not " + SigInfo.SIZE);
                }
                MemorySegment seg = SigInfo.allocate(a);
                seg.copyFrom(MemorySegment.ofArray(info));
                int sig = SigInfo.signo(seg);
                long at = in.put(seg);
                if (shared) {
                    in.add("rt_sigqueueinfo(" + sig + ")", Kernel.__NR_rt_sigqueueinfo, self, sig, at);
                } else {
                    in.add("rt_tgsigqueueinfo(" + sig + ")", Kernel.__NR_rt_tgsigqueueinfo, self, tid, sig, at);
                }
            }
        }
    }

    /**
     * Groups, then uids and gids, securebits, the bounding set and capabilities, in CRIU's order: with
     * SECURE_NO_SETUID_FIXUP set first, changing uids keeps the capabilities that the later steps need
     * (CAP_SETPCAP for securebits and the bounding set); capset comes last. The puppet is root with every
     * capability: a task that was the same needs its groups only.
     */
    static void creds(CallBatch in, CredsEntry c) {
        boolean root = c.getUid() == 0 && c.getEuid() == 0 && c.getSuid() == 0 && c.getFsuid() == 0
                && c.getGid() == 0 && c.getEgid() == 0 && c.getSgid() == 0 && c.getFsgid() == 0;
        boolean allCaps = full(c.getCapEffList()) && full(c.getCapPrmList()) && full(c.getCapBndList())
                && c.getSecbits() == 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment groups = a.allocate(ValueLayout.JAVA_INT, Math.max(1, c.getGroupsCount()));
            for (int i = 0; i < c.getGroupsCount(); i++) {
                groups.setAtIndex(ValueLayout.JAVA_INT, i, c.getGroups(i));
            }
            in.add("setgroups(" + c.getGroupsCount() + ")", Kernel.__NR_setgroups, c.getGroupsCount(), in.put(groups));
            if (root && allCaps) {
                return;
            }
            in.add("prctl(PR_SET_SECUREBITS, NO_SETUID_FIXUP)", Kernel.__NR_prctl, Kernel.PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP);
            in.add("setresuid(" + c.getUid() + ", " + c.getEuid() + ", " + c.getSuid() + ")", Kernel.__NR_setresuid,
                    c.getUid(), c.getEuid(), c.getSuid());
            in.add("setfsuid(" + c.getFsuid() + ")", Kernel.__NR_setfsuid, c.getFsuid());
            in.add("setresgid(" + c.getGid() + ", " + c.getEgid() + ", " + c.getSgid() + ")", Kernel.__NR_setresgid,
                    c.getGid(), c.getEgid(), c.getSgid());
            in.add("setfsgid(" + c.getFsgid() + ")", Kernel.__NR_setfsgid, c.getFsgid());
            in.add("prctl(PR_SET_SECUREBITS, " + c.getSecbits() + ")", Kernel.__NR_prctl, Kernel.PR_SET_SECUREBITS, c.getSecbits());
            int last = capLast();
            for (int cap = 0; cap < last; cap++) {
                if (!has(c.getCapBndList(), cap)) {
                    in.add("prctl(PR_CAPBSET_DROP, " + cap + ")", Kernel.__NR_prctl, Kernel.PR_CAPBSET_DROP, cap);
                }
            }
            MemorySegment capData = a.allocate(8 + 24);
            capData.set(ValueLayout.JAVA_INT, 0, Kernel._LINUX_CAPABILITY_VERSION_3);
            capData.set(ValueLayout.JAVA_INT, 4, 0);
            for (int w = 0; w < 2; w++) {
                long base = 8 + 12L * w;
                capData.set(ValueLayout.JAVA_INT, base, word(c.getCapEffList(), w));
                capData.set(ValueLayout.JAVA_INT, base + 4, word(c.getCapPrmList(), w));
                capData.set(ValueLayout.JAVA_INT, base + 8, word(c.getCapInhList(), w));
            }
            long at = in.put(capData);
            in.add("capset", Kernel.__NR_capset, at, at + 8);
        }
    }

    private static int capLast() {
        try {
            return Integer.parseInt(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/cap_last_cap")).strip()) + 1;
        } catch (java.io.IOException e) {
            return 41;
        }
    }

    private static boolean full(List<Integer> words) {
        int last = capLast();
        for (int cap = 0; cap < last; cap++) {
            if (!has(words, cap)) {
                return false;
            }
        }
        return true;
    }

    private static boolean has(List<Integer> words, int cap) {
        return (word(words, cap / 32) & (1 << (cap % 32))) != 0;
    }

    private static int word(List<Integer> words, int i) {
        return i < words.size() ? words.get(i) : 0;
    }
}
