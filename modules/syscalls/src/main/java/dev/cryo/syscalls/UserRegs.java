package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.user_regs_struct;

/**
 * A thread's general registers, {@code struct user_regs_struct} as PTRACE_GETREGSET NT_PRSTATUS reads and
 * writes them. The fields live in a Java array (every field of the struct is an unsigned long, at the slot
 * its offset names), moved to and from the kernel in one copy through a struct allocated for the call: field
 * by field through the struct's layout, each access is a VarHandle that C1 inlines whole, and the methods
 * that read or set every register of a thread took 4 to 33 MB of compiler arena each to compile, the largest
 * part of a 5000-thread dump's peak RSS (scripts/bench-big). Nothing off-heap is held between calls, so
 * that a thread's saved registers cost 27 words of heap and go with their last reference.
 */
public final class UserRegs {
    private static final int FIELDS = Math.toIntExact(user_regs_struct.sizeof() / Long.BYTES);
    private static final int R15 = slot(user_regs_struct.r15$offset());
    private static final int R14 = slot(user_regs_struct.r14$offset());
    private static final int R13 = slot(user_regs_struct.r13$offset());
    private static final int R12 = slot(user_regs_struct.r12$offset());
    private static final int RBP = slot(user_regs_struct.rbp$offset());
    private static final int RBX = slot(user_regs_struct.rbx$offset());
    private static final int R11 = slot(user_regs_struct.r11$offset());
    private static final int R10 = slot(user_regs_struct.r10$offset());
    private static final int R9 = slot(user_regs_struct.r9$offset());
    private static final int R8 = slot(user_regs_struct.r8$offset());
    private static final int RAX = slot(user_regs_struct.rax$offset());
    private static final int RCX = slot(user_regs_struct.rcx$offset());
    private static final int RDX = slot(user_regs_struct.rdx$offset());
    private static final int RSI = slot(user_regs_struct.rsi$offset());
    private static final int RDI = slot(user_regs_struct.rdi$offset());
    private static final int ORIG_RAX = slot(user_regs_struct.orig_rax$offset());
    private static final int RIP = slot(user_regs_struct.rip$offset());
    private static final int CS = slot(user_regs_struct.cs$offset());
    private static final int EFLAGS = slot(user_regs_struct.eflags$offset());
    private static final int RSP = slot(user_regs_struct.rsp$offset());
    private static final int SS = slot(user_regs_struct.ss$offset());
    private static final int FS_BASE = slot(user_regs_struct.fs_base$offset());
    private static final int GS_BASE = slot(user_regs_struct.gs_base$offset());
    private static final int DS = slot(user_regs_struct.ds$offset());
    private static final int ES = slot(user_regs_struct.es$offset());
    private static final int FS = slot(user_regs_struct.fs$offset());
    private static final int GS = slot(user_regs_struct.gs$offset());

    private static int slot(long offset) {
        return Math.toIntExact(offset / Long.BYTES);
    }

    private final long[] v = new long[FIELDS];

    /** All zero. */
    public UserRegs() {}

    /** The registers of stopped thread {@code tid}. */
    public static UserRegs of(int tid) {
        UserRegs r = new UserRegs();
        r.read(tid);
        return r;
    }

    /** Loads the registers of stopped thread {@code tid} into this. */
    public void read(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = user_regs_struct.allocate(arena);
            Ptrace.getRegset(tid, Linux.NT_PRSTATUS(), regs);
            MemorySegment.copy(regs, ValueLayout.JAVA_LONG, 0, v, 0, FIELDS);
        }
    }

    /** Gives stopped thread {@code tid} these registers. */
    public void write(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment regs = user_regs_struct.allocate(arena);
            MemorySegment.copy(v, 0, regs, ValueLayout.JAVA_LONG, 0, FIELDS);
            Ptrace.setRegset(tid, Linux.NT_PRSTATUS(), regs);
        }
    }

    public UserRegs copyFrom(UserRegs other) {
        System.arraycopy(other.v, 0, v, 0, FIELDS);
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
        v[RIP] = ip;
        v[RAX] = nr;
        v[ORIG_RAX] = -1;
        v[RDI] = a[0];
        v[RSI] = a[1];
        v[RDX] = a[2];
        v[R10] = a[3];
        v[R8] = a[4];
        v[R9] = a[5];
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

    public long rip() { return v[RIP]; }
    public void rip(long value) { v[RIP] = value; }
    public long rsp() { return v[RSP]; }
    public void rsp(long value) { v[RSP] = value; }
    public long rax() { return v[RAX]; }
    public void rax(long value) { v[RAX] = value; }
    public long origRax() { return v[ORIG_RAX]; }
    public void origRax(long value) { v[ORIG_RAX] = value; }
    public long rbx() { return v[RBX]; }
    public void rbx(long value) { v[RBX] = value; }
    public long rcx() { return v[RCX]; }
    public void rcx(long value) { v[RCX] = value; }
    public long rdx() { return v[RDX]; }
    public void rdx(long value) { v[RDX] = value; }
    public long rsi() { return v[RSI]; }
    public void rsi(long value) { v[RSI] = value; }
    public long rdi() { return v[RDI]; }
    public void rdi(long value) { v[RDI] = value; }
    public long rbp() { return v[RBP]; }
    public void rbp(long value) { v[RBP] = value; }
    public long r8() { return v[R8]; }
    public void r8(long value) { v[R8] = value; }
    public long r9() { return v[R9]; }
    public void r9(long value) { v[R9] = value; }
    public long r10() { return v[R10]; }
    public void r10(long value) { v[R10] = value; }
    public long r11() { return v[R11]; }
    public void r11(long value) { v[R11] = value; }
    public long r12() { return v[R12]; }
    public void r12(long value) { v[R12] = value; }
    public long r13() { return v[R13]; }
    public void r13(long value) { v[R13] = value; }
    public long r14() { return v[R14]; }
    public void r14(long value) { v[R14] = value; }
    public long r15() { return v[R15]; }
    public void r15(long value) { v[R15] = value; }
    public long eflags() { return v[EFLAGS]; }
    public void eflags(long value) { v[EFLAGS] = value; }
    public long cs() { return v[CS]; }
    public void cs(long value) { v[CS] = value; }
    public long ss() { return v[SS]; }
    public void ss(long value) { v[SS] = value; }
    public long fsBase() { return v[FS_BASE]; }
    public void fsBase(long value) { v[FS_BASE] = value; }
    public long gsBase() { return v[GS_BASE]; }
    public void gsBase(long value) { v[GS_BASE] = value; }
    public long ds() { return v[DS]; }
    public void ds(long value) { v[DS] = value; }
    public long es() { return v[ES]; }
    public void es(long value) { v[ES] = value; }
    public long fs() { return v[FS]; }
    public void fs(long value) { v[FS] = value; }
    public long gs() { return v[GS]; }
    public void gs(long value) { v[GS] = value; }
}
