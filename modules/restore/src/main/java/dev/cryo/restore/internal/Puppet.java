package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.clone_args;
import dev.cryo.bindings.iovec;
import dev.cryo.bindings.user_regs_struct;
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
    /** {@code syscall} (0f 05) then {@code int3} (cc), little-endian. */
    private static final long CODE = 0xcc050fL;

    private final int pid;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment template;
    private final MemorySegment regs;
    private long ip = PuppetStub.BOOT;
    private long trampoline;
    private boolean released;
    private boolean gone;

    private Puppet(int pid) {
        this.pid = pid;
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
            Ptrace.cont(pid, 0); // a signal meant for the stub: dropped
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
        Ptrace.pokeData(pid, at, CODE);
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

    /**
     * clone3 with {@code set_tid = pid}: a child puppet with that exact pid, a copy of this one (trampoline
     * included), already seized and stopped.
     */
    Puppet cloneWithPid(int childPid) {
        MemorySegment args = arena.allocate(clone_args.layout());
        clone_args.exit_signal(args, Linux.SIGCHLD());
        clone_args.set_tid(args, scratch() + clone_args.sizeof());
        clone_args.set_tid_size(args, 1);
        MemorySegment tid = arena.allocate(8);
        tid.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, childPid);
        writeScratch(0, args);
        writeScratch(clone_args.sizeof(), tid);
        long r;
        try {
            r = syscall("clone3(set_tid=" + childPid + ")", Linux.__NR_clone3(), scratch(), clone_args.sizeof());
        } catch (ErrnoException e) {
            if (e.is(Errno.EEXIST)) {
                throw new IllegalStateException("pid " + childPid + " is in use; the restored task needs it", e);
            }
            throw e;
        }
        Puppet child = adopt((int) r);
        child.trampoline = trampoline; // the child's memory is a copy: same trampoline, same address
        child.ip = ip;
        return child;
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

    private long run(long nr, long[] a, boolean expectFault) {
        regs.copyFrom(template);
        user_regs_struct.rip(regs, ip);
        user_regs_struct.rax(regs, nr);
        // orig_rax = -1: no syscall-restart processing of the injected state when the task resumes.
        user_regs_struct.orig_rax(regs, -1);
        user_regs_struct.rdi(regs, a[0]);
        user_regs_struct.rsi(regs, a[1]);
        user_regs_struct.rdx(regs, a[2]);
        user_regs_struct.r10(regs, a[3]);
        user_regs_struct.r8(regs, a[4]);
        user_regs_struct.r9(regs, a[5]);
        Ptrace.setRegset(pid, Linux.NT_PRSTATUS(), regs);
        Ptrace.cont(pid, 0);
        while (true) {
            Wait.Status st = Wait.waitAll(pid);
            if (st.gone()) {
                gone = true;
                throw new IllegalStateException("puppet " + pid + " died during an injected system call " + nr + ": " + st);
            }
            if (st.event() == 0) {
                int sig = st.stopSignal();
                if (sig == Linux.SIGTRAP() || (expectFault && sig == Linux.SIGSEGV())) {
                    Ptrace.getRegset(pid, Linux.NT_PRSTATUS(), regs);
                    long rip = user_regs_struct.rip(regs);
                    if (rip == ip + 3 || (expectFault && rip == ip + 2)) {
                        return user_regs_struct.rax(regs);
                    }
                }
            }
            // fork/clone events, and signals meant for the stub: continue without delivering them
            Ptrace.cont(pid, 0);
        }
    }

    /** Loads the task's registers; the next thing it runs is its own code at their rip. */
    void setRegisters(MemorySegment userRegs) {
        Ptrace.setRegset(pid, Linux.NT_PRSTATUS(), userRegs);
    }

    /** Lets the task run as itself: detaches (no signal delivered) and leaves it alive. */
    void release() {
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
