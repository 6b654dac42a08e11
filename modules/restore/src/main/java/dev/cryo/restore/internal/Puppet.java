package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Scratch;
import dev.cryo.parasite.Traced;
import dev.cryo.syscalls.CloneArgs;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.SigInfo;
import dev.cryo.syscalls.Signals;
import dev.cryo.syscalls.UserRegs;
import dev.cryo.syscalls.Wait;

/**
 * One seized puppet task that cryo builds a restored task in: what restore needs on top of a
 * {@link Parasite} (which runs the injected calls, at the trampoline it maps): clones with the dumped ids,
 * signals kept for the restored task, the end as a zombie, the registers, the release. Owned by the tracer
 * thread that seized it. Seized with PTRACE_O_EXITKILL: a puppet dies with cryo, so a killed restore leaves
 * no half-built task. {@link #close} kills it unless it was {@link #release released}.
 */
public final class Puppet implements Traced, AutoCloseable {
    static final long PAGE = Page.SIZE;
    /** The trampoline: one code page, then scratch memory for arguments. */
    static final long SCRATCH_SIZE = 64 * 1024;
    static final long TRAMPOLINE_SIZE = PAGE + SCRATCH_SIZE;
    /** How a puppet is seized; the tasks it clones inherit it. */
    private static final long OPTIONS = Kernel.PTRACE_O_TRACEFORK | Kernel.PTRACE_O_TRACECLONE
            | Kernel.PTRACE_O_TRACESYSGOOD | Kernel.PTRACE_O_EXITKILL;

    private final int pid;
    private final Arena arena = Arena.ofConfined();
    /** The registers the task had when cryo took it: what {@link #resumeAt} starts from. */
    private final UserRegs template;
    /** The calls into this task's process; a thread shares its process's. Null until the trampoline is placed. */
    private Parasite parasite;
    private int nsPid;
    /** The pid of the task the last injected fork/clone created, from its ptrace event. */
    private int lastChild;
    private boolean released;
    /** The thread group (host pid of the process) this task belongs to. */
    private int tgid;
    /** Signals to send again at release: {signal, 1 when thread-directed}. */
    private final List<long[]> kept = new ArrayList<>();
    private boolean gone;

    private Puppet(int pid) {
        this.pid = pid;
        this.nsPid = pid;
        this.tgid = pid;
        this.template = new UserRegs();
    }

    /** Seizes {@code pid} (a puppet sleeping in pause()) and stops it; its fork/clone children get seized too. */
    static Puppet seize(int pid) {
        Ptrace.seize(pid, OPTIONS);
        Puppet p = new Puppet(pid);
        try {
            Ptrace.interrupt(pid);
            p.awaitStop();
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** A task created by a traced puppet: the kernel attached it already; wait for its first stop. */
    private static Puppet adopt(int pid) {
        Puppet p = new Puppet(pid);
        try {
            p.awaitStop();
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    private void awaitStop() {
        while (true) {
            Wait.Status st = Wait.waitAll(pid);
            if (st.gone()) {
                gone = true;
                throw new RestoreError("puppet " + pid + " died before it stopped: " + st);
            }
            if (st.event() == Kernel.PTRACE_EVENT_STOP) {
                template.read(pid);
                return;
            }
            keepSignal(st); // a signal sent to the pid the task will have; for the stub itself, never delivered
            Ptrace.cont(pid, 0);
        }
    }

    @Override
    public int pid() {
        return tgid;
    }

    @Override
    public int tid() {
        return pid;
    }

    @Override
    public RuntimeException gone(Wait.Status st) {
        gone = true;
        return new RestoreError("puppet " + pid + " died during an injected system call: " + st);
    }

    /** Fork/clone events (the child's pid) and signals: the call goes on without delivering them now (kept ones come at release). */
    @Override
    public void unexpected(Wait.Status st) {
        int ev = st.event();
        if (ev == Kernel.PTRACE_EVENT_FORK || ev == Kernel.PTRACE_EVENT_CLONE || ev == Kernel.PTRACE_EVENT_VFORK) {
            lastChild = (int) Ptrace.getEventMsg(pid);
        }
        keepSignal(st);
    }

    private Parasite parasite() {
        if (parasite == null) {
            throw new RestoreError("puppet " + pid + " has no trampoline");
        }
        return parasite;
    }

    long trampoline() {
        return parasite().areaStart();
    }

    /** Maps the trampoline at {@code at} (fixed, never over an existing mapping) and runs later calls there. */
    void placeTrampoline(long at) {
        parasite = Parasite.boot(this, PuppetStub.BOOT, at, TRAMPOLINE_SIZE);
    }

    /** Runs system call {@code nr} inside the puppet; returns its result or throws with the errno. */
    public long syscall(String name, long nr, long... args) {
        return parasite().syscallIn(this, name, nr, args);
    }

    /**
     * Runs {@code calls} inside the puppet, in order, many of them for one stop ({@link Parasite#batch}); the
     * first that fails is thrown, the calls before it done. Returns their results.
     */
    public long[] batch(List<Parasite.Call> calls) {
        return calls.isEmpty() ? new long[0] : parasite().batch(this, calls);
    }

    /** As {@link #batch(List)}, for calls whose pointer arguments lie in {@code args} (held open by the caller): one stop. */
    public long[] batch(List<Parasite.Call> calls, Scratch args) {
        return calls.isEmpty() ? new long[0] : parasite().batch(this, calls, args);
    }

    /** Memory in the trampoline for the pointer arguments of calls; closing it frees what it handed out. */
    public Scratch scratch() {
        return parasite().scratch();
    }

    /** openat(AT_FDCWD, path, flags, mode) inside the task; the fd gets the lowest free number. */
    public int open(String path, int flags, int mode) {
        try (Scratch s = scratch()) {
            return (int) syscall("openat(" + path + ")", Kernel.__NR_openat, Kernel.AT_FDCWD, s.putString(path), flags, mode);
        }
    }

    /** close(fd) inside the task. */
    public void closeFd(int fd) {
        syscall("close(" + fd + ")", Kernel.__NR_close, fd);
    }

    /** Unmaps the trampoline from inside; the calls end there. */
    void removeTrampoline() {
        parasite().unmap();
    }

    /** Flags of a thread created in a puppet: everything a pthread shares with its process. */
    static final long THREAD_FLAGS = Kernel.CLONE_VM | Kernel.CLONE_FS | Kernel.CLONE_FILES | Kernel.CLONE_SIGHAND
            | Kernel.CLONE_THREAD | Kernel.CLONE_SYSVSEM;

    /** A child process with pid {@code childPid} (0: any), in this puppet's pid namespace. */
    Puppet cloneProcess(int childPid) {
        return cloneProcess(childPid, 0);
    }

    /** A child process with pid {@code childPid} (0: any), in new namespaces of the kinds {@code namespaces} names (CLONE_NEWIPC...). */
    Puppet cloneProcess(int childPid, long namespaces) {
        return clone(namespaces, Kernel.SIGCHLD, childPid);
    }

    /** A thread of this puppet's process with tid {@code tid} (0: any). */
    Puppet cloneThread(int tid) {
        return clone(THREAD_FLAGS, 0, tid);
    }

    /** The first task of a new pid namespace (pid 1 there), a child of this puppet. */
    Puppet clonePidNamespace() {
        return clone(Kernel.CLONE_NEWPID, Kernel.SIGCHLD, 0);
    }

    /**
     * clone3 from inside the puppet, with {@code set_tid} when {@code id > 0}: the new task is a copy of
     * this one (trampoline included; shared with it for a thread), already attached through
     * PTRACE_O_TRACEFORK/TRACECLONE and stopped before it ran an instruction of its own.
     */
    private Puppet clone(long flags, int exitSignal, int id) {
        boolean thread = (flags & Kernel.CLONE_THREAD) != 0;
        String what = thread ? "thread " : "pid ";
        long r;
        lastChild = 0;
        try (Arena a = Arena.ofConfined(); Scratch s = scratch()) {
            MemorySegment tid = a.allocate(ValueLayout.JAVA_INT);
            tid.set(ValueLayout.JAVA_INT, 0, id);
            // with an id, the pid in the innermost namespace (the one the task is in): one set_tid entry
            MemorySegment args = new CloneArgs(flags, exitSignal, id > 0 ? s.put(tid) : 0, id > 0 ? 1 : 0).write(a);
            r = syscall("clone3(" + (id > 0 ? "set_tid=" + id : "flags=0x" + Long.toHexString(flags)) + ")",
                    Kernel.__NR_clone3, s.put(args), CloneArgs.SIZE);
        } catch (ErrnoException e) {
            if (id > 0 && e.is(Errno.EEXIST)) {
                throw new RestoreError(what + id + " is taken by another process; the restored tree needs it", e);
            }
            throw e;
        }
        // clone3 returns the id in the puppet's namespace; the event message gives it in cryo's, which ptrace needs.
        int host = lastChild != 0 ? lastChild : (int) r;
        Puppet child = adopt(host);
        child.parasite = thread ? parasite : parasite.child(child);
        child.nsPid = (int) r;
        child.tgid = thread ? tgid : host;
        return child;
    }

    /** The task's id in its own pid namespace (the dumped one); {@link #tid} is what cryo sees. */
    int nsPid() {
        return nsPid;
    }

    /** Copies {@code data} to {@code addr} in the puppet (which must be mapped writable there). */
    public void write(long addr, MemorySegment data) {
        parasite().write(addr, data);
    }

    /** Copies {@code into.byteSize()} bytes at {@code addr} in the puppet into {@code into}. */
    public void read(long addr, MemorySegment into) {
        parasite().read(addr, into);
    }

    /**
     * Ends the task as a zombie of the dump ended: {@code exit_group(exitCode)}, or, when {@code signal} is not 0,
     * killed by that signal, which the task sends itself and cryo lets through at its signal-delivery stop. cryo,
     * its tracer, takes the exit first; the kernel then hands the task to its parent as a zombie with that status.
     */
    void die(int exitCode, int signal) {
        if (signal == 0) {
            parasite().launch(this, Kernel.__NR_exit_group, exitCode);
        } else {
            parasite().launch(this, Kernel.__NR_kill, nsPid, signal);
        }
        while (true) {
            Wait.Status st = Wait.waitAll(pid);
            if (st.gone()) {
                gone = true;
                boolean asDumped = signal == 0 ? st.exited() && st.exitCode() == exitCode : st.killed() && st.termSignal() == signal;
                if (!asDumped) {
                    throw new RestoreError("puppet " + pid + " ended otherwise than its zombie: " + st);
                }
                return;
            }
            if (st.stopped() && st.event() == 0 && st.stopSignal() == signal) {
                Ptrace.cont(pid, signal); // the signal it sent itself: delivered, its default action ends the task
            } else if (st.stopped() && st.event() == 0 && st.stopSignal() == Kernel.SIGILL) {
                throw new RestoreError("puppet " + pid + " lives on after " + (signal == 0 ? "exit_group(" + exitCode + ")"
                        : "sending itself signal " + signal));
            } else {
                Ptrace.cont(pid, 0); // anything else is dropped: the task it stands for was dead
            }
        }
    }

    /** Loads the task's registers; the next thing it runs is its own code at their rip. */
    void setRegisters(UserRegs regs) {
        regs.write(pid);
    }

    /** Lets the task run the stub's code at {@code rip} with the stub's stack: for the pid namespace's init. */
    void resumeAt(long rip) {
        UserRegs r = new UserRegs().copyFrom(template);
        r.rip(rip);
        r.origRax(-1);
        r.write(pid);
        release();
    }

    boolean released() {
        return released;
    }

    /**
     * A signal that someone else sent to the task while cryo drove it (kill, tgkill, sigqueue: si_code <= 0,
     * si_pid not the task itself) is kept, and sent again when the task is released, to its restored
     * handlers. Signals the kernel raised for the puppet's own work (a fault, SIGPIPE, SIGCHLD) are not.
     */
    private void keepSignal(Wait.Status st) {
        if (!st.stopped() || st.event() != 0 || st.stopSignal() == Kernel.SIGTRAP || st.syscallStop()) {
            return;
        }
        MemorySegment info = SigInfo.allocate(arena);
        try {
            Ptrace.getSigInfo(pid, info);
        } catch (ErrnoException e) {
            return; // not a signal-delivery-stop
        }
        int code = SigInfo.code(info);
        int sender = SigInfo.senderPid(info);
        if (code <= 0 && sender != pid && sender != nsPid) {
            kept.add(new long[] {st.stopSignal(), code == SigInfo.SI_TKILL ? 1 : 0});
        }
    }

    /** Lets the task run as itself: signals kept for it queued again, then detached, and left alive. */
    void release() {
        for (long[] k : kept) {
            if (k[1] == 1) {
                Signals.tgkill(tgid, pid, (int) k[0]);
            } else {
                Signals.kill(tgid, (int) k[0]);
            }
        }
        Ptrace.detach(pid, 0);
        released = true;
    }

    /** Detaches and kills the task: for a puppet whose work is done, or a restore that failed. */
    void kill() {
        if (released || gone) {
            return;
        }
        try {
            Signals.kill(pid, Kernel.SIGKILL);
            // Reap the tracer's side of the exit; the keeper reaps the task itself.
            while (!Wait.waitAll(pid).gone()) {
                // a stop reported before the kill took effect
            }
        } catch (ErrnoException e) {
            if (!e.is(Errno.ESRCH) && !e.is(Errno.ECHILD)) {
                throw e;
            }
        }
        gone = true;
    }

    @Override
    public void close() {
        try {
            kill();
        } finally {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "puppet " + pid;
    }
}
