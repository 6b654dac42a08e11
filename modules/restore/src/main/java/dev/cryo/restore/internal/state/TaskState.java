package dev.cryo.restore.internal.state;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.itimerval;
import dev.cryo.bindings.rlimit;
import dev.cryo.bindings.timeval;
import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.CredsEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.ItimerEntry;
import dev.cryo.images.proto.RlimitEntry;
import dev.cryo.images.proto.SiginfoEntry;
import dev.cryo.images.proto.SignalQueueEntry;
import dev.cryo.images.proto.TaskCoreEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Rlimits;

/**
 * What the kernel keeps per task beside memory and files, set from inside the puppet with injected calls:
 * root and cwd, umask, rlimits, itimers, pending signals, and last the credentials (after them the task
 * may no longer be allowed what the earlier steps need). Run after the fds and before the registers.
 */
public final class TaskState {
    /** x86-64 numbers and constants missing from bindings' 6.1 header list (asm/unistd_64.h, linux/prctl.h, linux/capability.h). */
    private static final int NR_UMASK = 95;
    private static final int NR_SETFSUID = 122;
    private static final int NR_SETFSGID = 123;
    private static final int SECBIT_NO_SETUID_FIXUP = 1 << 2;
    private static final int PR_CAPBSET_DROP = 24;
    private static final int CAP_VERSION_3 = 0x20080522;
    private static final int SIGINFO_SIZE = 128;

    private TaskState() {}

    /** {@code dumpedPid} names the task's images; {@code in} may run under another pid (a new pid namespace). */
    public static void restore(Puppet in, ImageStore store, int dumpedPid, CoreEntry core) {
        fs(in, store, dumpedPid);
        if (core.hasTc()) {
            TaskCoreEntry tc = core.getTc();
            if (tc.hasRlimits()) {
                rlimits(in, tc.getRlimits().getRlimitsList());
            }
            // Everything from here may raise a signal (an itimer firing, a pending signal queued): block all
            // until the registers set the dumped mask, or the puppet's injection loop would swallow it.
            blockAll(in);
            if (tc.hasTimers()) {
                itimer(in, Linux.ITIMER_REAL(), tc.getTimers().getReal());
                itimer(in, Linux.ITIMER_VIRTUAL(), tc.getTimers().getVirt());
                itimer(in, Linux.ITIMER_PROF(), tc.getTimers().getProf());
            }
            if (tc.hasSignalsS()) {
                pending(in, tc.getSignalsS(), true);
            }
        } else {
            blockAll(in);
        }
        if (core.getThreadCore().hasSignalsP()) {
            pending(in, core.getThreadCore().getSignalsP(), false);
        }
        if (core.getThreadCore().hasCreds()) {
            creds(in, core.getThreadCore().getCreds());
        }
    }

    /**
     * A thread other than the leader: its own pending signals, queued from inside it with all signals
     * blocked until the registers set its dumped mask (as {@link #restore} does for the leader).
     */
    public static void threadSignals(Puppet thread, CoreEntry core) {
        if (core.getThreadCore().hasSignalsP() && core.getThreadCore().getSignalsP().getSignalsCount() > 0) {
            blockAll(thread);
            pending(thread, core.getThreadCore().getSignalsP(), false);
        }
    }

    /** chroot, chdir and umask from fs-PID.img, the paths from files.img. */
    static void fs(Puppet in, ImageStore store, int dumpedPid) {
        String image = ImageKind.FS.fileName(dumpedPid);
        if (!store.exists(image)) {
            return;
        }
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
            try (Scratch s = in.scratch()) {
                in.syscall("chroot(" + root + ")", Linux.__NR_chroot(), s.putString(root));
            }
        }
        if (cwd != null) {
            try (Scratch s = in.scratch()) {
                in.syscall("chdir(" + cwd + ")", Linux.__NR_chdir(), s.putString(cwd));
            }
        }
        if (fs.hasUmask()) {
            in.syscall("umask(0" + Integer.toOctalString(fs.getUmask()) + ")", NR_UMASK, fs.getUmask());
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
        if (!core.hasTc() || !core.getTc().hasRlimits() || core.getTc().getRlimits().getRlimitsCount() <= Linux.RLIMIT_NOFILE()) {
            return;
        }
        RlimitEntry dumped = core.getTc().getRlimits().getRlimits(Linux.RLIMIT_NOFILE());
        Rlimits.Limit now = Rlimits.get(pid, Linux.RLIMIT_NOFILE());
        Rlimits.Limit want = new Rlimits.Limit(Long.compareUnsigned(dumped.getCur(), now.cur()) > 0 ? dumped.getCur() : now.cur(),
                Long.compareUnsigned(dumped.getMax(), now.max()) > 0 ? dumped.getMax() : now.max());
        if (want.equals(now)) {
            return;
        }
        try {
            Rlimits.set(pid, Linux.RLIMIT_NOFILE(), want);
        } catch (ErrnoException e) {
            if (!e.is(Errno.EPERM)) {
                throw e;
            }
            long cur = Long.compareUnsigned(want.cur(), now.max()) > 0 ? now.max() : want.cur();
            Rlimits.set(pid, Linux.RLIMIT_NOFILE(), new Rlimits.Limit(cur, now.max()));
        }
    }

    static void rlimits(Puppet in, List<RlimitEntry> limits) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment lim = rlimit.allocate(a);
            for (int r = 0; r < limits.size() && r < Linux.RLIMIT_NLIMITS(); r++) {
                rlimit.rlim_cur(lim, limits.get(r).getCur());
                rlimit.rlim_max(lim, limits.get(r).getMax());
                try (Scratch s = in.scratch()) {
                    in.syscall("prlimit64(resource " + r + ")", Linux.__NR_prlimit64(), 0, r, s.put(lim), 0);
                }
            }
        }
    }

    private static void blockAll(Puppet in) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment all = a.allocate(8);
            all.set(ValueLayout.JAVA_LONG, 0, -1L);
            try (Scratch s = in.scratch()) {
                in.syscall("rt_sigprocmask(SIG_SETMASK, all)", Linux.__NR_rt_sigprocmask(), Linux.SIG_SETMASK(), s.put(all), 0, 8);
            }
        }
    }

    static void itimer(Puppet in, int which, ItimerEntry t) {
        if (t.getVsec() == 0 && t.getVusec() == 0) {
            return; // disarmed, as in a fresh task
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = itimerval.allocate(a);
            timeval.tv_sec(itimerval.it_interval(v), t.getIsec());
            timeval.tv_usec(itimerval.it_interval(v), t.getIusec());
            timeval.tv_sec(itimerval.it_value(v), t.getVsec());
            timeval.tv_usec(itimerval.it_value(v), t.getVusec());
            try (Scratch s = in.scratch()) {
                in.syscall("setitimer(" + which + ")", Linux.__NR_setitimer(), which, s.put(v), 0);
            }
        }
    }

    /** Queues each dumped siginfo again, process-wide or to the thread; the task sends them to itself, so any si_code goes. */
    static void pending(Puppet in, SignalQueueEntry q, boolean shared) {
        if (q.getSignalsCount() == 0) {
            return;
        }
        // the task's own pid as it sees it: another one than cryo's view inside a new pid namespace
        long self = in.syscall("getpid", Linux.__NR_getpid());
        long tid = in.syscall("gettid", Linux.__NR_gettid());
        try (Arena a = Arena.ofConfined()) {
            for (SiginfoEntry s : q.getSignalsList()) {
                byte[] info = s.getSiginfo().toByteArray();
                if (info.length != SIGINFO_SIZE) {
                    throw new IllegalStateException("pid " + in.pid() + ": a pending siginfo of " + info.length + " bytes, not " + SIGINFO_SIZE);
                }
                MemorySegment seg = a.allocate(SIGINFO_SIZE);
                seg.copyFrom(MemorySegment.ofArray(info));
                int sig = seg.get(ValueLayout.JAVA_INT, 0);
                try (Scratch scratch = in.scratch()) {
                    long at = scratch.put(seg);
                    if (shared) {
                        in.syscall("rt_sigqueueinfo(" + sig + ")", Linux.__NR_rt_sigqueueinfo(), self, sig, at);
                    } else {
                        in.syscall("rt_tgsigqueueinfo(" + sig + ")", Linux.__NR_rt_tgsigqueueinfo(), self, tid, sig, at);
                    }
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
    static void creds(Puppet in, CredsEntry c) {
        boolean root = c.getUid() == 0 && c.getEuid() == 0 && c.getSuid() == 0 && c.getFsuid() == 0
                && c.getGid() == 0 && c.getEgid() == 0 && c.getSgid() == 0 && c.getFsgid() == 0;
        boolean allCaps = full(c.getCapEffList()) && full(c.getCapPrmList()) && full(c.getCapBndList())
                && c.getSecbits() == 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment groups = a.allocate(ValueLayout.JAVA_INT, Math.max(1, c.getGroupsCount()));
            for (int i = 0; i < c.getGroupsCount(); i++) {
                groups.setAtIndex(ValueLayout.JAVA_INT, i, c.getGroups(i));
            }
            try (Scratch s = in.scratch()) {
                in.syscall("setgroups(" + c.getGroupsCount() + ")", Linux.__NR_setgroups(), c.getGroupsCount(), s.put(groups));
            }
            if (root && allCaps) {
                return;
            }
            in.syscall("prctl(PR_SET_SECUREBITS, NO_SETUID_FIXUP)", Linux.__NR_prctl(), Linux.PR_SET_SECUREBITS(), SECBIT_NO_SETUID_FIXUP);
            in.syscall("setresuid(" + c.getUid() + ", " + c.getEuid() + ", " + c.getSuid() + ")", Linux.__NR_setresuid(),
                    c.getUid(), c.getEuid(), c.getSuid());
            in.syscall("setfsuid(" + c.getFsuid() + ")", NR_SETFSUID, c.getFsuid());
            in.syscall("setresgid(" + c.getGid() + ", " + c.getEgid() + ", " + c.getSgid() + ")", Linux.__NR_setresgid(),
                    c.getGid(), c.getEgid(), c.getSgid());
            in.syscall("setfsgid(" + c.getFsgid() + ")", NR_SETFSGID, c.getFsgid());
            in.syscall("prctl(PR_SET_SECUREBITS, " + c.getSecbits() + ")", Linux.__NR_prctl(), Linux.PR_SET_SECUREBITS(), c.getSecbits());
            int last = capLast();
            for (int cap = 0; cap < last; cap++) {
                if (!has(c.getCapBndList(), cap)) {
                    in.syscall("prctl(PR_CAPBSET_DROP, " + cap + ")", Linux.__NR_prctl(), PR_CAPBSET_DROP, cap);
                }
            }
            MemorySegment capData = a.allocate(8 + 24);
            capData.set(ValueLayout.JAVA_INT, 0, CAP_VERSION_3);
            capData.set(ValueLayout.JAVA_INT, 4, 0);
            for (int w = 0; w < 2; w++) {
                long base = 8 + 12L * w;
                capData.set(ValueLayout.JAVA_INT, base, word(c.getCapEffList(), w));
                capData.set(ValueLayout.JAVA_INT, base + 4, word(c.getCapPrmList(), w));
                capData.set(ValueLayout.JAVA_INT, base + 8, word(c.getCapInhList(), w));
            }
            try (Scratch s = in.scratch()) {
                long at = s.put(capData);
                in.syscall("capset", Linux.__NR_capset(), at, at + 8);
            }
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
