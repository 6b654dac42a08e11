package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import com.google.protobuf.ByteString;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.ptrace_rseq_configuration;
import dev.cryo.bindings.stack_t;
import dev.cryo.bindings.user_regs_struct;
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
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Ptrace;
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
            MemorySegment regs = arena.allocate(user_regs_struct.layout());
            Ptrace.getRegset(t.tid(), Linux.NT_PRSTATUS(), regs);
            MemorySegment xsave = arena.allocate(XSAVE_MAX, 64);
            long xsize = Ptrace.getRegset(t.tid(), Linux.NT_X86_XSTATE(), xsave);
            return ThreadInfoX86.newBuilder().setGpregs(gpregs(regs, t.tid(), interrupted)).setFpregs(fpregs(xsave, xsize));
        }
    }

    static Collected collect(Tracee t, ThreadInfoX86.Builder registers, Parasite parasite, TaskCollector.Creds creds) {
        try (Arena arena = Arena.ofConfined()) {
            int tid = t.tid();
            // clear_child_tid lives only in the kernel: ask the thread itself.
            MemorySegment word = arena.allocate(ValueLayout.JAVA_LONG);
            try (Scratch s = parasite.scratch()) {
                long at = s.reserve(word.byteSize());
                parasite.syscallIn(t, "prctl(PR_GET_TID_ADDRESS)", Linux.__NR_prctl(), Linux.PR_GET_TID_ADDRESS(), at);
                s.read(at, word);
            }
            ThreadInfoX86 info = registers.setClearTidAddr(word.get(ValueLayout.JAVA_LONG, 0)).build();

            ThreadCoreEntry.Builder core = ThreadCoreEntry.newBuilder()
                    .setBlkSigset(Ptrace.getSigmask(tid))
                    .setComm(Proc.read(t.pid(), "task/" + tid + "/comm").strip())
                    .setCreds(creds.forThread(t.pid(), tid))
                    .setSas(sigaltstack(t, parasite, arena));
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
    private static UserX86RegsEntry gpregs(MemorySegment r, int tid, InterruptedCalls interrupted) {
        long ax = user_regs_struct.rax(r);
        long ip = user_regs_struct.rip(r);
        long origAx = user_regs_struct.orig_rax(r);
        if (origAx >= 0) {
            if (ax == UserRegs.ERESTARTSYS || ax == UserRegs.ERESTARTNOINTR || ax == UserRegs.ERESTARTNOHAND) {
                ax = origAx;
                ip -= 2;
            } else if (ax == UserRegs.ERESTART_RESTARTBLOCK) {
                ax = Linux.__NR_restart_syscall();
                ip -= 2;
                long original = interrupted.original(tid, r);
                if (original >= 0) {
                    origAx = original;
                }
            }
        }
        return UserX86RegsEntry.newBuilder()
                .setR15(user_regs_struct.r15(r)).setR14(user_regs_struct.r14(r)).setR13(user_regs_struct.r13(r))
                .setR12(user_regs_struct.r12(r)).setBp(user_regs_struct.rbp(r)).setBx(user_regs_struct.rbx(r))
                .setR11(user_regs_struct.r11(r)).setR10(user_regs_struct.r10(r)).setR9(user_regs_struct.r9(r))
                .setR8(user_regs_struct.r8(r)).setAx(ax).setCx(user_regs_struct.rcx(r))
                .setDx(user_regs_struct.rdx(r)).setSi(user_regs_struct.rsi(r)).setDi(user_regs_struct.rdi(r))
                .setOrigAx(origAx).setIp(ip).setCs(user_regs_struct.cs(r))
                .setFlags(user_regs_struct.eflags(r)).setSp(user_regs_struct.rsp(r)).setSs(user_regs_struct.ss(r))
                .setFsBase(user_regs_struct.fs_base(r)).setGsBase(user_regs_struct.gs_base(r))
                .setDs(user_regs_struct.ds(r)).setEs(user_regs_struct.es(r)).setFs(user_regs_struct.fs(r))
                .setGs(user_regs_struct.gs(r))
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

    private static ThreadSasEntry sigaltstack(Tracee t, Parasite parasite, Arena arena) {
        MemorySegment ss = arena.allocate(stack_t.layout());
        try (Scratch s = parasite.scratch()) {
            long at = s.reserve(ss.byteSize());
            parasite.syscallIn(t, "sigaltstack", Linux.__NR_sigaltstack(), 0, at);
            s.read(at, ss);
        }
        return ThreadSasEntry.newBuilder()
                .setSsSp(stack_t.ss_sp(ss).address())
                .setSsSize(stack_t.ss_size(ss))
                .setSsFlags(stack_t.ss_flags(ss))
                .build();
    }

    private static void robustList(int tid, ThreadCoreEntry.Builder core, Arena arena) {
        MemorySegment head = arena.allocate(ValueLayout.JAVA_LONG);
        MemorySegment len = arena.allocate(ValueLayout.JAVA_LONG);
        Syscall.call("get_robust_list(" + tid + ")", Linux.__NR_get_robust_list(), tid, head.address(), len.address());
        core.setFutexRla(head.get(ValueLayout.JAVA_LONG, 0)).setFutexRlaLen((int) len.get(ValueLayout.JAVA_LONG, 0));
    }

    private static void rseq(int tid, ThreadCoreEntry.Builder core, Arena arena) {
        MemorySegment conf = arena.allocate(ptrace_rseq_configuration.layout());
        Ptrace.getRseqConfiguration(tid, conf);
        long abi = ptrace_rseq_configuration.rseq_abi_pointer(conf);
        if (abi != 0) {
            core.setRseqEntry(RseqEntry.newBuilder()
                    .setRseqAbiPointer(abi)
                    .setRseqAbiSize(ptrace_rseq_configuration.rseq_abi_size(conf))
                    .setSignature(ptrace_rseq_configuration.signature(conf)));
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
