package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings._fpx_sw_bytes;
import dev.cryo.bindings.cryo_kernel_ucontext;
import dev.cryo.bindings.cryo_rt_sigframe;
import dev.cryo.bindings.sigcontext;
import dev.cryo.bindings.stack_t;

/**
 * A signal frame that {@code rt_sigreturn(2)} loads a thread from on x86-64, as the kernel would have built
 * it to deliver a signal: the general registers, the xsave state and the blocked mask. The bytes are laid
 * out for {@link #address()} in the thread's memory; a thread whose rsp is {@link #sigreturnSp()} and that
 * makes the rt_sigreturn system call continues with exactly these registers, FPU/SSE/AVX state and mask.
 *
 * <p>Two things the kernel checks: the xsave area must be 64-byte aligned (else XRSTOR faults and the
 * thread gets SIGSEGV), and its software bytes (FP_XSTATE_MAGIC1 at offset 464, FP_XSTATE_MAGIC2 right
 * after the area) must be there, or only the legacy SSE part is restored. The sigaltstack field holds
 * flags that sigaltstack refuses (EINVAL, which rt_sigreturn ignores), so the thread's alternate stack
 * stays as it is.
 */
public record SignalFrame(long address, MemorySegment bytes) {
    /** Offset of the software-reserved bytes in the legacy FXSAVE part of the xsave area. */
    private static final long SW_RESERVED = 464;
    /** SS_ONSTACK | SS_DISABLE: a mode sigaltstack(2) rejects, so rt_sigreturn leaves the alternate stack alone. */
    private static final int KEEP_ALTSTACK = 3;

    /** The rsp rt_sigreturn needs: the kernel reads the frame at rsp - 8 (past the return address a handler pops). */
    public long sigreturnSp() {
        return address + 8;
    }

    /** The lowest address the frame occupies when it is built to end below {@code top}, for a thread whose xsave area has {@code xstateSize} bytes. */
    public static long lowest(long top, long xstateSize) {
        return frameAt(fpstateAt(top, xstateSize));
    }

    private static long fpstateAt(long top, long xstateSize) {
        return (top - xstateSize - Integer.BYTES) & -64L;
    }

    private static long frameAt(long fpstate) {
        // As the kernel aligns a signal frame: (frame + 8) is 16-byte aligned, as rsp is after a call.
        return ((fpstate - cryo_rt_sigframe.sizeof() + 8) & -16L) - 8;
    }

    /**
     * The frame that gives a thread {@code regs}, the xsave state {@code xstate} (as PTRACE_GETREGSET
     * NT_X86_XSTATE read it, the slice the kernel filled) and blocked mask {@code blocked}, built to end
     * below address {@code top}.
     */
    public static SignalFrame below(long top, UserRegs regs, MemorySegment xstate, long blocked, SegmentAllocator allocator) {
        long fp = fpstateAt(top, xstate.byteSize());
        long frame = frameAt(fp);
        long end = fp + xstate.byteSize() + Integer.BYTES;
        MemorySegment bytes = allocator.allocate(end - frame, 64);
        bytes.fill((byte) 0);

        MemorySegment uc = cryo_rt_sigframe.uc(bytes);
        cryo_kernel_ucontext.uc_flags(uc, Linux.CRYO_UC_FP_XSTATE() | Linux.CRYO_UC_SIGCONTEXT_SS() | Linux.CRYO_UC_STRICT_RESTORE_SS());
        stack_t.ss_flags(cryo_kernel_ucontext.uc_stack(uc), KEEP_ALTSTACK);
        cryo_kernel_ucontext.uc_sigmask(uc, blocked);
        registers(cryo_kernel_ucontext.uc_mcontext(uc), regs, fp);

        MemorySegment fpstate = bytes.asSlice(fp - frame, xstate.byteSize() + Integer.BYTES);
        fpstate.copyFrom(xstate);
        MemorySegment sw = fpstate.asSlice(SW_RESERVED, _fpx_sw_bytes.sizeof());
        if (_fpx_sw_bytes.magic1(sw) != Linux.FP_XSTATE_MAGIC1()) {
            softwareBytes(sw, xstate);
        }
        long magic2At = _fpx_sw_bytes.xstate_size(sw);
        if (magic2At + Integer.BYTES > fpstate.byteSize()) {
            throw new IllegalArgumentException("xsave area of " + xstate.byteSize() + " bytes says its size is " + magic2At);
        }
        fpstate.set(ValueLayout.JAVA_INT_UNALIGNED, magic2At, Linux.FP_XSTATE_MAGIC2());
        return new SignalFrame(frame, bytes);
    }

    /**
     * The general registers and the xsave area's address into {@code sc}, a {@code struct sigcontext}: its
     * unsigned longs in one copy from an array at the slots their offsets name (field by field, each access
     * a VarHandle that C1 inlines whole, compiling this took 33 MB of arena in a 5000-thread dump), then the
     * two selectors, which are shorts.
     */
    private static void registers(MemorySegment sc, UserRegs regs, long fpstate) {
        long[] words = new long[Math.toIntExact(sigcontext.sizeof() / Long.BYTES)];
        words[slot(sigcontext.r8$offset())] = regs.r8();
        words[slot(sigcontext.r9$offset())] = regs.r9();
        words[slot(sigcontext.r10$offset())] = regs.r10();
        words[slot(sigcontext.r11$offset())] = regs.r11();
        words[slot(sigcontext.r12$offset())] = regs.r12();
        words[slot(sigcontext.r13$offset())] = regs.r13();
        words[slot(sigcontext.r14$offset())] = regs.r14();
        words[slot(sigcontext.r15$offset())] = regs.r15();
        words[slot(sigcontext.rdi$offset())] = regs.rdi();
        words[slot(sigcontext.rsi$offset())] = regs.rsi();
        words[slot(sigcontext.rbp$offset())] = regs.rbp();
        words[slot(sigcontext.rbx$offset())] = regs.rbx();
        words[slot(sigcontext.rdx$offset())] = regs.rdx();
        words[slot(sigcontext.rax$offset())] = regs.rax();
        words[slot(sigcontext.rcx$offset())] = regs.rcx();
        words[slot(sigcontext.rsp$offset())] = regs.rsp();
        words[slot(sigcontext.rip$offset())] = regs.rip();
        words[slot(sigcontext.eflags$offset())] = regs.eflags();
        words[slot(sigcontext.__fpstate_word$offset())] = fpstate;
        MemorySegment.copy(words, 0, sc, ValueLayout.JAVA_LONG, 0, words.length);
        sigcontext.cs(sc, (short) regs.cs());
        sigcontext.__pad0(sc, (short) regs.ss()); // the kernel's ss (glibc's name predates UC_SIGCONTEXT_SS)
    }

    private static int slot(long offset) {
        return Math.toIntExact(offset / Long.BYTES);
    }

    /** The kernel fills these in every NT_X86_XSTATE it reports; state from elsewhere gets them here. */
    private static void softwareBytes(MemorySegment sw, MemorySegment xstate) {
        _fpx_sw_bytes.magic1(sw, Linux.FP_XSTATE_MAGIC1());
        _fpx_sw_bytes.xstate_size(sw, (int) xstate.byteSize());
        _fpx_sw_bytes.extended_size(sw, (int) xstate.byteSize() + Integer.BYTES);
        _fpx_sw_bytes.xstate_bv(sw, xstate.get(ValueLayout.JAVA_LONG_UNALIGNED, 512));
    }
}
