package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.SaEntry;
import dev.cryo.images.proto.ThreadCoreEntry;
import dev.cryo.images.proto.UserX86FpregsEntry;
import dev.cryo.images.proto.UserX86RegsEntry;
import dev.cryo.images.proto.UserX86XsaveEntry;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.SigAction;
import dev.cryo.syscalls.SigAltStack;
import dev.cryo.syscalls.UserRegs;
import dev.cryo.syscalls.XsaveLayout;

/** A task's signal handlers and its thread's kernel-side state and registers, from core-TID.img. */
final class ThreadRestore {
    private static final int XSAVE_MAX = 16384;

    private ThreadRestore() {}

    /** rt_sigaction for every signal whose handler is not the default; SIGKILL and SIGSTOP cannot have one. */
    static void sigactions(Puppet p, List<SaEntry> actions) {
        try (Arena a = Arena.ofConfined(); CallBatch b = new CallBatch(p)) {
            for (int i = 0; i < actions.size(); i++) {
                int sig = i + 1;
                SaEntry e = actions.get(i);
                if (sig == Kernel.SIGKILL || sig == Kernel.SIGSTOP
                        || (e.getSigaction() == 0 && e.getFlags() == 0 && e.getMask() == 0)) {
                    continue;
                }
                MemorySegment sa = new SigAction(e.getSigaction(), e.getFlags(), e.getRestorer(), e.getMask()).write(a);
                b.add("rt_sigaction(" + sig + ")", Kernel.__NR_rt_sigaction, sig, b.put(sa), 0, 8);
            }
            b.run();
        }
    }

    /** The thread's name (comm, 15 bytes at most), set from inside; an empty name leaves it as it is. */
    static void name(Puppet p, String comm) {
        try (CallBatch b = new CallBatch(p)) {
            name(b, comm);
            b.run();
        }
    }

    private static void name(CallBatch p, String comm) {
        if (comm.isEmpty()) {
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            byte[] b = comm.getBytes(StandardCharsets.UTF_8);
            MemorySegment name = a.allocate(Math.min(b.length, 15) + 1L);
            name.copyFrom(MemorySegment.ofArray(b).asSlice(0, Math.min(b.length, 15)));
            p.add("prctl(PR_SET_NAME)", Kernel.__NR_prctl, Kernel.PR_SET_NAME, p.put(name));
        }
    }

    /** State only the thread itself can set, injected while the trampoline is still there: one batch. */
    static void kernelState(Puppet p, CoreEntry core) {
        ThreadCoreEntry tc = core.getThreadCore();
        try (Arena a = Arena.ofConfined(); CallBatch b = new CallBatch(p)) {
            b.add("set_tid_address", Kernel.__NR_set_tid_address, core.getThreadInfo().getClearTidAddr());
            if (tc.getFutexRla() != 0) {
                b.add("set_robust_list", Kernel.__NR_set_robust_list, tc.getFutexRla(), tc.getFutexRlaLen());
            }
            if (tc.hasSas() && (tc.getSas().getSsFlags() & Kernel.SS_DISABLE) == 0) {
                MemorySegment ss = new SigAltStack(tc.getSas().getSsSp(), tc.getSas().getSsSize(), 0).write(a);
                b.add("sigaltstack", Kernel.__NR_sigaltstack, b.put(ss), 0);
            }
            name(b, tc.hasComm() ? tc.getComm() : core.hasTc() ? core.getTc().getComm() : "");
            if (tc.hasRseqEntry() && tc.getRseqEntry().getRseqAbiPointer() != 0) {
                // glibc registered rseq and aborts if the area is not registered again with its length and signature
                b.add("rseq", Kernel.__NR_rseq, tc.getRseqEntry().getRseqAbiPointer(),
                        tc.getRseqEntry().getRseqAbiSize(), 0, tc.getRseqEntry().getSignature());
            }
            b.run();
        }
    }

    /** Registers, FPU/xstate and signal mask; after the trampoline is gone, these are the task's own. */
    static void registers(Puppet p, CoreEntry core) {
        UserX86RegsEntry g = core.getThreadInfo().getGpregs();
        try (Arena a = Arena.ofConfined()) {
            UserRegs r = new UserRegs();
            r.r15(g.getR15()); r.r14(g.getR14()); r.r13(g.getR13()); r.r12(g.getR12());
            r.rbp(g.getBp()); r.rbx(g.getBx()); r.r11(g.getR11()); r.r10(g.getR10());
            r.r9(g.getR9()); r.r8(g.getR8()); r.rax(restartedCall(g)); r.rcx(g.getCx());
            r.rdx(g.getDx()); r.rsi(g.getSi()); r.rdi(g.getDi());
            // The dump already turned an interrupted call into its restart (ip and ax); nothing more to restart.
            r.origRax(-1);
            r.rip(g.getIp()); r.cs(g.getCs()); r.eflags(g.getFlags()); r.rsp(g.getSp()); r.ss(g.getSs());
            r.fsBase(g.getFsBase()); r.gsBase(g.getGsBase());
            r.ds(g.getDs()); r.es(g.getEs()); r.fs(g.getFs()); r.gs(g.getGs());
            p.setRegisters(r);

            MemorySegment x = a.allocate(XSAVE_MAX, 64);
            long size = Ptrace.getRegset(p.tid(), Kernel.NT_X86_XSTATE, x);
            x = x.asSlice(0, size);
            fpregs(x, core.getThreadInfo().getFpregs());
            Ptrace.setRegset(p.tid(), Kernel.NT_X86_XSTATE, x);
        }
        long mask = core.getThreadCore().hasBlkSigset() ? core.getThreadCore().getBlkSigset()
                : core.hasTc() ? core.getTc().getBlkSigset() : 0;
        Ptrace.setSigmask(p.tid(), mask);
    }

    /**
     * The call a thread stopped in must make again. For ERESTART_RESTARTBLOCK (nanosleep, clock_nanosleep,
     * poll, futex with a timeout) the dump asks for restart_syscall, which in a new task has no restart
     * block and fails with EINTR; the original call is made again instead, from its registers, which the
     * kernel kept (relative timeouts start over, absolute ones end when they would have).
     */
    static long restartedCall(UserX86RegsEntry g) {
        if (g.getAx() == Kernel.__NR_restart_syscall && g.getOrigAx() >= 0 && g.getOrigAx() != Kernel.__NR_restart_syscall) {
            return g.getOrigAx();
        }
        return g.getAx();
    }

    /** The inverse of the dump's fpregs(): the FXSAVE area and the recorded XSAVE components, at this CPU's offsets. */
    static void fpregs(MemorySegment x, UserX86FpregsEntry f) {
        x.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) f.getCwd());
        x.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2, (short) f.getSwd());
        x.set(ValueLayout.JAVA_SHORT_UNALIGNED, 4, (short) f.getTwd());
        x.set(ValueLayout.JAVA_SHORT_UNALIGNED, 6, (short) f.getFop());
        x.set(ValueLayout.JAVA_LONG_UNALIGNED, 8, f.getRip());
        x.set(ValueLayout.JAVA_LONG_UNALIGNED, 16, f.getRdp());
        x.set(ValueLayout.JAVA_INT_UNALIGNED, 24, f.getMxcsr());
        putInts(x, 32, f.getStSpaceList());
        putInts(x, 160, f.getXmmSpaceList());
        if (!f.hasXsave() || x.byteSize() <= 576) {
            return;
        }
        UserX86XsaveEntry xs = f.getXsave();
        x.set(ValueLayout.JAVA_LONG_UNALIGNED, 512, xs.getXstateBv());
        // Components go back at this CPU's offsets (CPUID leaf 0xD), the same way the dump read them.
        XsaveLayout l = XsaveLayout.current();
        putInts(x, l, XsaveLayout.AVX, xs.getYmmhSpaceList());
        putLongs(x, l, XsaveLayout.BNDREGS, xs.getBndregStateList());
        putLongs(x, l, XsaveLayout.BNDCSR, xs.getBndcsrStateList());
        putLongs(x, l, XsaveLayout.OPMASK, xs.getOpmaskRegList());
        putLongs(x, l, XsaveLayout.ZMM_HI256, xs.getZmmUpperList());
        putLongs(x, l, XsaveLayout.HI16_ZMM, xs.getHi16ZmmList());
        putInts(x, l, XsaveLayout.PKRU, xs.getPkruList());
    }

    private static void putInts(MemorySegment x, XsaveLayout l, int c, List<Integer> v) {
        if (l.size(c) > 0) {
            putInts(x, l.offset(c), v.subList(0, Math.min(v.size(), l.size(c) / 4)));
        }
    }

    private static void putLongs(MemorySegment x, XsaveLayout l, int c, List<Long> v) {
        if (l.size(c) > 0) {
            putLongs(x, l.offset(c), v.subList(0, Math.min(v.size(), l.size(c) / 8)));
        }
    }

    private static void putInts(MemorySegment x, long at, List<Integer> v) {
        if (at + v.size() * 4L <= x.byteSize()) {
            for (int i = 0; i < v.size(); i++) {
                x.set(ValueLayout.JAVA_INT_UNALIGNED, at + i * 4L, v.get(i));
            }
        }
    }

    private static void putLongs(MemorySegment x, long at, List<Long> v) {
        if (at + v.size() * 8L <= x.byteSize()) {
            for (int i = 0; i < v.size(); i++) {
                x.set(ValueLayout.JAVA_LONG_UNALIGNED, at + i * 8L, v.get(i));
            }
        }
    }
}
