package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import com.google.protobuf.ByteString;

import dev.cryo.images.proto.RseqEntry;
import dev.cryo.images.proto.SiginfoEntry;
import dev.cryo.images.proto.SignalQueueEntry;
import dev.cryo.images.proto.ThreadCoreEntry;
import dev.cryo.images.proto.ThreadInfoX86;
import dev.cryo.images.proto.ThreadSasEntry;
import dev.cryo.images.proto.UserX86FpregsEntry;
import dev.cryo.images.proto.UserX86RegsEntry;
import dev.cryo.images.proto.UserX86XsaveEntry;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Scratch;
import dev.cryo.parasite.Tracee;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.RseqConfiguration;
import dev.cryo.syscalls.SigAltStack;
import dev.cryo.syscalls.SigInfo;
import dev.cryo.syscalls.Syscall;
import dev.cryo.syscalls.UserRegs;
import dev.cryo.syscalls.XsaveLayout;

/** Collects one stopped thread: registers, FPU/xstate, signal mask, pending signals, sigaltstack, rseq, robust list. */
final class ThreadCollector {
    // The kernel's restart codes, seen in rax when a thread was stopped inside a system call.
    private static final int XSAVE_MAX = 16384;

    private ThreadCollector() {}

    record Collected(ThreadInfoX86 info, ThreadCoreEntry core) {}

    /**
     * The thread's own registers and FPU state. Read before the parasite runs anything in the thread:
     * after that, the kernel's view holds the injected call's registers until the cure.
     */
    static ThreadInfoX86.Builder registers(Tracee t, InterruptedCalls interrupted) {
        try (Arena arena = Arena.ofConfined()) {
            UserRegs regs = UserRegs.of(t.tid());
            MemorySegment xsave = arena.allocate(XSAVE_MAX, 64);
            long xsize = Ptrace.getRegset(t.tid(), Kernel.NT_X86_XSTATE, xsave);
            return ThreadInfoX86.newBuilder().setGpregs(gpregs(regs, t.tid(), interrupted)).setFpregs(fpregs(xsave, xsize));
        }
    }

    static Collected collect(Tracee t, ThreadInfoX86.Builder registers, Parasite parasite, TaskCollector.Creds creds) {
        try (Arena arena = Arena.ofConfined()) {
            int tid = t.tid();
            // clear_child_tid and the sigaltstack live only in the kernel: ask the thread itself, both in one lot.
            MemorySegment word = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment ss = SigAltStack.allocate(arena);
            try (Scratch s = parasite.scratch()) {
                long tidAddress = s.reserve(word.byteSize());
                long stack = s.reserve(ss.byteSize());
                parasite.queries(t, s, java.util.List.of(
                        new Parasite.Call("prctl(PR_GET_TID_ADDRESS)", Kernel.__NR_prctl, Kernel.PR_GET_TID_ADDRESS, tidAddress),
                        new Parasite.Call("sigaltstack", Kernel.__NR_sigaltstack, 0, stack)));
                s.read(tidAddress, word);
                s.read(stack, ss);
            }
            ThreadInfoX86 info = registers.setClearTidAddr(word.get(ValueLayout.JAVA_LONG, 0)).build();
            SigAltStack stack = SigAltStack.read(ss);

            ThreadCoreEntry.Builder core = ThreadCoreEntry.newBuilder()
                    .setBlkSigset(Ptrace.getSigmask(tid))
                    .setComm(Proc.read(t.pid(), "task/" + tid + "/comm").strip())
                    .setCreds(creds.forThread(t.pid(), tid))
                    .setSas(ThreadSasEntry.newBuilder().setSsSp(stack.sp()).setSsSize(stack.size()).setSsFlags(stack.flags()));
            robustList(tid, core, arena);
            rseq(tid, core, arena);
            core.setSignalsP(pending(tid, false, arena));
            schedNice(t, core);
            return new Collected(info, core.build());
        }
    }

    /**
     * The registers as a restore must load them: a thread stopped in a restartable call gets it restarted.
     * One stopped with ERESTART_RESTARTBLOCK keeps its call in orig_ax, which restore makes again; when that
     * is restart_syscall (a pre-dump stopped the thread before), the call comes from {@code interrupted}.
     */
    private static UserX86RegsEntry gpregs(UserRegs r, int tid, InterruptedCalls interrupted) {
        long ax = r.rax();
        long ip = r.rip();
        long origAx = r.origRax();
        if (origAx >= 0) {
            if (ax == UserRegs.ERESTARTSYS || ax == UserRegs.ERESTARTNOINTR || ax == UserRegs.ERESTARTNOHAND) {
                ax = origAx;
                ip -= 2;
            } else if (ax == UserRegs.ERESTART_RESTARTBLOCK) {
                ax = Kernel.__NR_restart_syscall;
                ip -= 2;
                long original = interrupted.original(tid, r);
                if (original >= 0) {
                    origAx = original;
                }
            }
        }
        return UserX86RegsEntry.newBuilder()
                .setR15(r.r15()).setR14(r.r14()).setR13(r.r13())
                .setR12(r.r12()).setBp(r.rbp()).setBx(r.rbx())
                .setR11(r.r11()).setR10(r.r10()).setR9(r.r9())
                .setR8(r.r8()).setAx(ax).setCx(r.rcx())
                .setDx(r.rdx()).setSi(r.rsi()).setDi(r.rdi())
                .setOrigAx(origAx).setIp(ip).setCs(r.cs())
                .setFlags(r.eflags()).setSp(r.rsp()).setSs(r.ss())
                .setFsBase(r.fsBase()).setGsBase(r.gsBase())
                .setDs(r.ds()).setEs(r.es()).setFs(r.fs())
                .setGs(r.gs())
                .build();
    }

    /**
     * The legacy FXSAVE area (first 512 bytes) and the XSAVE components CRIU records, at this CPU's offsets
     * in the standard (non-compacted) format, which is the layout PTRACE_GETREGSET NT_X86_XSTATE returns.
     */
    static UserX86FpregsEntry fpregs(MemorySegment x, long size) {
        UserX86FpregsEntry.Builder b = UserX86FpregsEntry.newBuilder()
                .setCwd(Short.toUnsignedInt(x.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0)))
                .setSwd(Short.toUnsignedInt(x.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2)))
                .setTwd(Short.toUnsignedInt(x.get(ValueLayout.JAVA_SHORT_UNALIGNED, 4)))
                .setFop(Short.toUnsignedInt(x.get(ValueLayout.JAVA_SHORT_UNALIGNED, 6)))
                .setRip(x.get(ValueLayout.JAVA_LONG_UNALIGNED, 8))
                .setRdp(x.get(ValueLayout.JAVA_LONG_UNALIGNED, 16))
                .setMxcsr(x.get(ValueLayout.JAVA_INT_UNALIGNED, 24))
                .setMxcsrMask(x.get(ValueLayout.JAVA_INT_UNALIGNED, 28));
        for (int i = 0; i < 32; i++) {
            b.addStSpace(x.get(ValueLayout.JAVA_INT_UNALIGNED, 32 + i * 4L));
        }
        for (int i = 0; i < 64; i++) {
            b.addXmmSpace(x.get(ValueLayout.JAVA_INT_UNALIGNED, 160 + i * 4L));
        }
        for (int i = 0; i < 24; i++) {
            b.addPadding(x.get(ValueLayout.JAVA_INT_UNALIGNED, 416 + i * 4L));
        }
        if (size > 576) {
            XsaveLayout l = XsaveLayout.current();
            UserX86XsaveEntry.Builder xs = UserX86XsaveEntry.newBuilder().setXstateBv(x.get(ValueLayout.JAVA_LONG_UNALIGNED, 512));
            addInts(xs::addYmmhSpace, x, l, XsaveLayout.AVX, size);         // upper 128 bits of ymm0-15
            addLongs(xs::addBndregState, x, l, XsaveLayout.BNDREGS, size);  // MPX bound registers
            addLongs(xs::addBndcsrState, x, l, XsaveLayout.BNDCSR, size);
            addLongs(xs::addOpmaskReg, x, l, XsaveLayout.OPMASK, size);     // AVX-512 k0-k7
            addLongs(xs::addZmmUpper, x, l, XsaveLayout.ZMM_HI256, size);
            addLongs(xs::addHi16Zmm, x, l, XsaveLayout.HI16_ZMM, size);
            addInts(xs::addPkru, x, l, XsaveLayout.PKRU, size);
            b.setXsave(xs);
        }
        return b.build();
    }

    /** Component {@code c} as 32-bit words, where this CPU has it and the kernel's area holds it. */
    private static void addInts(java.util.function.IntConsumer add, MemorySegment x, XsaveLayout l, int c, long size) {
        if (l.fits(c, size)) {
            for (int i = 0; i < l.size(c) / 4; i++) {
                add.accept(x.get(ValueLayout.JAVA_INT_UNALIGNED, l.offset(c) + i * 4L));
            }
        }
    }

    private static void addLongs(java.util.function.LongConsumer add, MemorySegment x, XsaveLayout l, int c, long size) {
        if (l.fits(c, size)) {
            for (int i = 0; i < l.size(c) / 8; i++) {
                add.accept(x.get(ValueLayout.JAVA_LONG_UNALIGNED, l.offset(c) + i * 8L));
            }
        }
    }

    private static void robustList(int tid, ThreadCoreEntry.Builder core, Arena arena) {
        MemorySegment head = arena.allocate(ValueLayout.JAVA_LONG);
        MemorySegment len = arena.allocate(ValueLayout.JAVA_LONG);
        Syscall.call("get_robust_list(" + tid + ")", Kernel.__NR_get_robust_list, tid, head.address(), len.address());
        core.setFutexRla(head.get(ValueLayout.JAVA_LONG, 0)).setFutexRlaLen((int) len.get(ValueLayout.JAVA_LONG, 0));
    }

    private static void rseq(int tid, ThreadCoreEntry.Builder core, Arena arena) {
        RseqConfiguration conf = RseqConfiguration.of(tid);
        if (conf.abiPointer() != 0) {
            core.setRseqEntry(RseqEntry.newBuilder()
                    .setRseqAbiPointer(conf.abiPointer())
                    .setRseqAbiSize(conf.abiSize())
                    .setSignature(conf.signature()));
        }
    }

    /** Pending signals of the thread's own queue, or with {@code shared} of the process's, without dequeuing them. */
    static SignalQueueEntry pending(int tid, boolean shared, Arena arena) {
        SignalQueueEntry.Builder q = SignalQueueEntry.newBuilder();
        MemorySegment buf = SigInfo.allocateArray(arena, 32);
        long offset = 0;
        while (true) {
            int n = Ptrace.peekSigInfo(tid, offset, shared, buf, 32);
            for (int i = 0; i < n; i++) {
                q.addSignals(SiginfoEntry.newBuilder().setSiginfo(ByteString.copyFrom(buf.asSlice(i * SigInfo.SIZE, SigInfo.SIZE).asByteBuffer())));
            }
            if (n < 32) {
                return q.build();
            }
            offset += n;
        }
    }

    private static void schedNice(Tracee t, ThreadCoreEntry.Builder core) {
        Proc.Stat stat = Proc.stat(t.pid(), t.tid());
        core.setSchedNice((int) stat.longField(19)).setSchedPolicy((int) stat.longField(41)).setSchedPrio((int) stat.longField(40));
    }
}
