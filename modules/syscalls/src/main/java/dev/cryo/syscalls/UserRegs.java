package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.user_regs_struct;

/**
 * A thread's general registers, {@code struct user_regs_struct} as PTRACE_GETREGSET NT_PRSTATUS reads and
 * writes them, in off-heap memory owned by the allocator's arena.
 */
public final class UserRegs {
    private final MemorySegment regs;

    private UserRegs(MemorySegment regs) {
        this.regs = regs;
    }

    public static UserRegs allocate(SegmentAllocator allocator) {
        return new UserRegs(user_regs_struct.allocate(allocator));
    }

    /** The registers of stopped thread {@code tid}. */
    public static UserRegs of(int tid, SegmentAllocator allocator) {
        UserRegs r = allocate(allocator);
        r.read(tid);
        return r;
    }

    /** Loads the registers of stopped thread {@code tid} into this. */
    public void read(int tid) {
        Ptrace.getRegset(tid, Linux.NT_PRSTATUS(), regs);
    }

    /** Gives stopped thread {@code tid} these registers. */
    public void write(int tid) {
        Ptrace.setRegset(tid, Linux.NT_PRSTATUS(), regs);
    }

    public UserRegs copyFrom(UserRegs other) {
        regs.copyFrom(other.regs);
        return this;
    }

    /**
     * Sets the registers of system call {@code nr} with {@code args} (up to six: rdi, rsi, rdx, r10, r8, r9),
     * run by the {@code syscall} instruction at {@code ip}; orig_rax = -1, so that nothing of a system call
     * the thread was in is restarted over them.
     */
    public UserRegs syscallAt(long ip, long nr, long... args) {
        if (args.length > 6) {
            throw new IllegalArgumentException("a system call takes at most six arguments, not " + args.length);
        }
        long[] a = java.util.Arrays.copyOf(args, 6);
        user_regs_struct.rip(regs, ip);
        user_regs_struct.rax(regs, nr);
        user_regs_struct.orig_rax(regs, -1);
        user_regs_struct.rdi(regs, a[0]);
        user_regs_struct.rsi(regs, a[1]);
        user_regs_struct.rdx(regs, a[2]);
        user_regs_struct.r10(regs, a[3]);
        user_regs_struct.r8(regs, a[4]);
        user_regs_struct.r9(regs, a[5]);
        return this;
    }

    // The kernel's restart codes, seen in rax when a thread stopped inside a system call (include/linux/errno.h).
    public static final long ERESTARTSYS = -Linux.CRYO_ERESTARTSYS();
    public static final long ERESTARTNOINTR = -Linux.CRYO_ERESTARTNOINTR();
    public static final long ERESTARTNOHAND = -Linux.CRYO_ERESTARTNOHAND();
    public static final long ERESTART_RESTARTBLOCK = -Linux.CRYO_ERESTART_RESTARTBLOCK();

    /**
     * Makes a system call the thread was stopped inside start again when it resumes with these registers
     * from outside the kernel's signal handling (from a signal frame, or as a new task): what the kernel
     * does when no handler runs. rax holds the call's number again (restart_syscall for one interrupted
     * with ERESTART_RESTARTBLOCK) and rip points back at its {@code syscall} instruction; orig_rax is
     * untouched. Returns whether there was such a call.
     */
    public boolean restartInterruptedCall() {
        long ax = rax();
        if (origRax() < 0) {
            return false;
        }
        if (ax == ERESTARTSYS || ax == ERESTARTNOINTR || ax == ERESTARTNOHAND) {
            rax(origRax());
        } else if (ax == ERESTART_RESTARTBLOCK) {
            rax(Linux.__NR_restart_syscall());
        } else {
            return false;
        }
        rip(rip() - 2);
        return true;
    }

    public long rip() { return user_regs_struct.rip(regs); }
    public void rip(long v) { user_regs_struct.rip(regs, v); }
    public long rsp() { return user_regs_struct.rsp(regs); }
    public void rsp(long v) { user_regs_struct.rsp(regs, v); }
    public long rax() { return user_regs_struct.rax(regs); }
    public void rax(long v) { user_regs_struct.rax(regs, v); }
    public long origRax() { return user_regs_struct.orig_rax(regs); }
    public void origRax(long v) { user_regs_struct.orig_rax(regs, v); }
    public long rbx() { return user_regs_struct.rbx(regs); }
    public void rbx(long v) { user_regs_struct.rbx(regs, v); }
    public long rcx() { return user_regs_struct.rcx(regs); }
    public void rcx(long v) { user_regs_struct.rcx(regs, v); }
    public long rdx() { return user_regs_struct.rdx(regs); }
    public void rdx(long v) { user_regs_struct.rdx(regs, v); }
    public long rsi() { return user_regs_struct.rsi(regs); }
    public void rsi(long v) { user_regs_struct.rsi(regs, v); }
    public long rdi() { return user_regs_struct.rdi(regs); }
    public void rdi(long v) { user_regs_struct.rdi(regs, v); }
    public long rbp() { return user_regs_struct.rbp(regs); }
    public void rbp(long v) { user_regs_struct.rbp(regs, v); }
    public long r8() { return user_regs_struct.r8(regs); }
    public void r8(long v) { user_regs_struct.r8(regs, v); }
    public long r9() { return user_regs_struct.r9(regs); }
    public void r9(long v) { user_regs_struct.r9(regs, v); }
    public long r10() { return user_regs_struct.r10(regs); }
    public void r10(long v) { user_regs_struct.r10(regs, v); }
    public long r11() { return user_regs_struct.r11(regs); }
    public void r11(long v) { user_regs_struct.r11(regs, v); }
    public long r12() { return user_regs_struct.r12(regs); }
    public void r12(long v) { user_regs_struct.r12(regs, v); }
    public long r13() { return user_regs_struct.r13(regs); }
    public void r13(long v) { user_regs_struct.r13(regs, v); }
    public long r14() { return user_regs_struct.r14(regs); }
    public void r14(long v) { user_regs_struct.r14(regs, v); }
    public long r15() { return user_regs_struct.r15(regs); }
    public void r15(long v) { user_regs_struct.r15(regs, v); }
    public long eflags() { return user_regs_struct.eflags(regs); }
    public void eflags(long v) { user_regs_struct.eflags(regs, v); }
    public long cs() { return user_regs_struct.cs(regs); }
    public void cs(long v) { user_regs_struct.cs(regs, v); }
    public long ss() { return user_regs_struct.ss(regs); }
    public void ss(long v) { user_regs_struct.ss(regs, v); }
    public long fsBase() { return user_regs_struct.fs_base(regs); }
    public void fsBase(long v) { user_regs_struct.fs_base(regs, v); }
    public long gsBase() { return user_regs_struct.gs_base(regs); }
    public void gsBase(long v) { user_regs_struct.gs_base(regs, v); }
    public long ds() { return user_regs_struct.ds(regs); }
    public void ds(long v) { user_regs_struct.ds(regs, v); }
    public long es() { return user_regs_struct.es(regs); }
    public void es(long v) { user_regs_struct.es(regs, v); }
    public long fs() { return user_regs_struct.fs(regs); }
    public void fs(long v) { user_regs_struct.fs(regs, v); }
    public long gs() { return user_regs_struct.gs(regs); }
    public void gs(long v) { user_regs_struct.gs(regs, v); }

    /** The struct itself, for code that fills it from an image field by field. */
    public MemorySegment segment() {
        return regs;
    }
}
