package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.clone_args;
import dev.cryo.bindings.iovec;
import dev.cryo.bindings.user_regs_struct;
import dev.cryo.parasite.InjectedCall;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.ProcessVm;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.Signals;
import dev.cryo.syscalls.Wait;

/**
 * One seized puppet task that cryo builds a restored task in, by system calls injected at a trampoline
 * ({@code syscall; int3}) and PTRACE_CONT to the int3. Owned by the tracer thread that seized it.
 * {@link #close} kills it unless it was {@link #release released}.
 */
final class Puppet implements AutoCloseable {
    static final long PAGE = 4096;
    /** The trampoline: one code page, then scratch memory for arguments. */
    static final long SCRATCH_SIZE = 64 * 1024;
    static final long TRAMPOLINE_SIZE = PAGE + SCRATCH_SIZE;

    private final int pid;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment template;
    private final MemorySegment regs;
    private long ip = PuppetStub.BOOT;
    private long trampoline;
    private int nsPid;
    /** The pid of the task the last injected fork/clone created, from its ptrace event. */
    private int lastChild;
    private boolean released;
    /** The thread group (host pid of the process) this task belongs to. */
    private int tgid;
    /** Signals to send again at release: {signal, 1 when thread-directed}. */
    private final java.util.List<long[]> kept = new java.util.ArrayList<>();
    private static final int SIGINFO_SIZE = 128;
    private static final int SI_TKILL = -6;
    private boolean gone;

    private Puppet(int pid) {
        this.pid = pid;
        this.nsPid = pid;
        this.tgid = pid;
        this.template = arena.allocate(user_regs_struct.layout());
        this.regs = arena.allocate(user_regs_struct.layout());
    }

    /** Seizes {@code pid} (a puppet sleeping in pause()) and stops it; its fork/clone children get seized too. */
    static Puppet seize(int pid) {
        Ptrace.seize(pid, Linux.PTRACE_O_TRACEFORK() | Linux.PTRACE_O_TRACECLONE());
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
                throw new IllegalStateException("puppet " + pid + " died before it stopped: " + st);
            }
            if (st.event() == Linux.PTRACE_EVENT_STOP()) {
                Ptrace.getRegset(pid, Linux.NT_PRSTATUS(), template);
                return;
            }
            keepSignal(st); // a signal sent to the pid the task will have; for the stub itself, never delivered
            Ptrace.cont(pid, 0);
        }
    }

    int pid() {
        return pid;
    }

    long scratch() {
        return trampoline + PAGE;
    }

    long trampoline() {
        return trampoline;
    }

    /** Maps the trampoline at {@code at} (fixed, never over an existing mapping) and runs later calls there. */
    void placeTrampoline(long at) {
        long r = syscall("mmap(trampoline)", Linux.__NR_mmap(), at, TRAMPOLINE_SIZE,
                Linux.PROT_READ() | Linux.PROT_WRITE() | Linux.PROT_EXEC(),
                Linux.MAP_PRIVATE() | Linux.MAP_ANONYMOUS() | Linux.MAP_FIXED_NOREPLACE(), -1, 0);
        if (r != at) {
            throw new IllegalStateException("puppet " + pid + ": trampoline mapped at 0x" + Long.toHexString(r)
                    + " instead of 0x" + Long.toHexString(at));
        }
        Ptrace.pokeData(pid, at, InjectedCall.CODE);
        trampoline = at;
        ip = at;
    }

    /** Runs system call {@code nr} inside the puppet; returns its result or throws with the errno. */
    long syscall(String name, long nr, long... args) {
        long r = run(nr, Arrays.copyOf(args, 6), false);
        if (r < 0 && r >= -4095) {
            throw new ErrnoException(name + " in puppet " + pid, args, (int) -r);
        }
        return r;
    }

    /** Unmaps the trampoline from inside: the task stops with SIGSEGV at the vanished int3, which is never delivered. */
    void removeTrampoline() {
        long r = run(Linux.__NR_munmap(), new long[] {trampoline, TRAMPOLINE_SIZE, 0, 0, 0, 0}, true);
        if (r != 0) {
            throw new ErrnoException("munmap(trampoline) in puppet " + pid, new long[] {trampoline}, (int) -r);
        }
        trampoline = 0;
    }

    /** Flags of a thread created in a puppet: everything a pthread shares with its process. */
    static final long THREAD_FLAGS = Linux.CLONE_VM() | Linux.CLONE_FS() | Linux.CLONE_FILES() | Linux.CLONE_SIGHAND()
            | Linux.CLONE_THREAD() | Linux.CLONE_SYSVSEM();

    /** A child process with pid {@code childPid} (0: any), in this puppet's pid namespace. */
    Puppet cloneProcess(int childPid) {
        return clone(0, Linux.SIGCHLD(), childPid);
    }

    /** A thread of this puppet's process with tid {@code tid} (0: any). */
    Puppet cloneThread(int tid) {
        return clone(THREAD_FLAGS, 0, tid);
    }

    /** The first task of a new pid namespace (pid 1 there), a child of this puppet. */
    Puppet clonePidNamespace() {
        return clone(Linux.CLONE_NEWPID(), Linux.SIGCHLD(), 0);
    }

    /**
     * clone3 from inside the puppet, with {@code set_tid} when {@code id > 0}: the new task is a copy of
     * this one (trampoline included; shared with it for a thread), already attached through
     * PTRACE_O_TRACEFORK/TRACECLONE and stopped before it ran an instruction of its own.
     */
    private Puppet clone(long flags, int exitSignal, int id) {
        MemorySegment args = arena.allocate(clone_args.layout());
        clone_args.flags(args, flags);
        clone_args.exit_signal(args, exitSignal);
        if (id > 0) {
            clone_args.set_tid(args, scratch() + clone_args.sizeof());
            clone_args.set_tid_size(args, 1); // the pid in the innermost namespace, the one the task is in
        }
        MemorySegment tid = arena.allocate(8);
        tid.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, id);
        writeScratch(0, args);
        writeScratch(clone_args.sizeof(), tid);
        long r;
        lastChild = 0;
        String what = (flags & Linux.CLONE_THREAD()) != 0 ? "thread " : "pid ";
        try {
            r = syscall("clone3(" + (id > 0 ? "set_tid=" + id : "flags=0x" + Long.toHexString(flags)) + ")",
                    Linux.__NR_clone3(), scratch(), clone_args.sizeof());
        } catch (ErrnoException e) {
            if (id > 0 && e.is(Errno.EEXIST)) {
                throw new IllegalStateException(what + id + " is taken by another process; the restored tree needs it", e);
            }
            throw e;
        }
        // clone3 returns the id in the puppet's namespace; the event message gives it in cryo's, which ptrace needs.
        int host = lastChild != 0 ? lastChild : (int) r;
        Puppet child = adopt(host);
        child.trampoline = trampoline; // the child's memory is a copy (or the same): same trampoline, same address
        child.ip = ip;
        child.nsPid = (int) r;
        child.tgid = (flags & Linux.CLONE_THREAD()) != 0 ? tgid : host;
        return child;
    }

    /** The task's id in its own pid namespace (the dumped one); {@link #pid} is what cryo sees. */
    int nsPid() {
        return nsPid;
    }

    void writeScratch(long offset, MemorySegment data) {
        if (offset < 0 || offset + data.byteSize() > SCRATCH_SIZE) {
            throw new IllegalArgumentException("scratch range out of bounds: " + offset + "+" + data.byteSize());
        }
        write(scratch() + offset, data);
    }

    /** Copies {@code data} to {@code addr} in the puppet (which must be mapped writable there). */
    void write(long addr, MemorySegment data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = iovec.allocate(a);
            MemorySegment r = iovec.allocate(a);
            long done = 0;
            while (done < data.byteSize()) {
                long len = data.byteSize() - done;
                iovec.iov_base(l, data.asSlice(done));
                iovec.iov_len(l, len);
                iovec.iov_base(r, MemorySegment.ofAddress(addr + done));
                iovec.iov_len(r, len);
                long n = ProcessVm.writev(pid, l, 1, r, 1);
                if (n <= 0) {
                    throw new IllegalStateException("puppet " + pid + ": cannot write at 0x" + Long.toHexString(addr + done));
                }
                done += n;
            }
        }
    }

    /**
     * Ends the task as a zombie of the dump ended: {@code exit_group(exitCode)}, or, when {@code signal} is not 0,
     * killed by that signal, which the task sends itself and cryo lets through at its signal-delivery stop. cryo,
     * its tracer, takes the exit first; the kernel then hands the task to its parent as a zombie with that status.
     */
    void die(int exitCode, int signal) {
        if (signal == 0) {
            InjectedCall.start(pid, template, regs, ip, Linux.__NR_exit_group(), new long[] {exitCode, 0, 0, 0, 0, 0});
        } else {
            InjectedCall.start(pid, template, regs, ip, Linux.__NR_kill(), new long[] {nsPid, signal, 0, 0, 0, 0});
        }
        while (true) {
            Wait.Status st = Wait.waitAll(pid);
            if (st.gone()) {
                gone = true;
                boolean asDumped = signal == 0 ? st.exited() && st.exitCode() == exitCode : st.killed() && st.termSignal() == signal;
                if (!asDumped) {
                    throw new IllegalStateException("puppet " + pid + " ended otherwise than its zombie: " + st);
                }
                return;
            }
            if (st.stopped() && st.event() == 0 && st.stopSignal() == signal) {
                Ptrace.cont(pid, signal); // the signal it sent itself: delivered, its default action ends the task
            } else if (st.stopped() && st.event() == 0 && st.stopSignal() == Linux.SIGTRAP()) {
                throw new IllegalStateException("puppet " + pid + " lives on after " + (signal == 0 ? "exit_group(" + exitCode + ")"
                        : "sending itself signal " + signal));
            } else {
                Ptrace.cont(pid, 0); // anything else is dropped: the task it stands for was dead
            }
        }
    }

    private long run(long nr, long[] a, boolean expectFault) {
        return InjectedCall.run(pid, template, regs, ip, nr, a, expectFault, new InjectedCall.Stops() {
            @Override
            public RuntimeException gone(Wait.Status st) {
                Puppet.this.gone = true;
                return new IllegalStateException("puppet " + pid + " died during an injected system call " + nr + ": " + st);
            }

            @Override
            public void other(Wait.Status st) {
                int ev = st.event();
                if (ev == Linux.PTRACE_EVENT_FORK() || ev == Linux.PTRACE_EVENT_CLONE() || ev == Linux.PTRACE_EVENT_VFORK()) {
                    lastChild = (int) Ptrace.getEventMsg(pid);
                }
                // fork/clone events, and signals: continue without delivering them now (kept ones come at release)
                keepSignal(st);
            }
        });
    }

    /** Loads the task's registers; the next thing it runs is its own code at their rip. */
    void setRegisters(MemorySegment userRegs) {
        Ptrace.setRegset(pid, Linux.NT_PRSTATUS(), userRegs);
    }

    /** Lets the task run the stub's code at {@code rip} with the stub's stack: for the pid namespace's init. */
    void resumeAt(long rip) {
        regs.copyFrom(template);
        user_regs_struct.rip(regs, rip);
        user_regs_struct.orig_rax(regs, -1);
        Ptrace.setRegset(pid, Linux.NT_PRSTATUS(), regs);
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
        if (!st.stopped() || st.event() != 0 || st.stopSignal() == Linux.SIGTRAP()) {
            return;
        }
        MemorySegment info = arena.allocate(SIGINFO_SIZE, 8);
        try {
            Ptrace.getSigInfo(pid, info);
        } catch (ErrnoException e) {
            return; // not a signal-delivery-stop
        }
        int code = info.get(ValueLayout.JAVA_INT, 8);
        int sender = info.get(ValueLayout.JAVA_INT, 16);
        if (code <= 0 && sender != pid && sender != nsPid) {
            kept.add(new long[] {st.stopSignal(), code == SI_TKILL ? 1 : 0});
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
            Signals.kill(pid, Linux.SIGKILL());
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
}
