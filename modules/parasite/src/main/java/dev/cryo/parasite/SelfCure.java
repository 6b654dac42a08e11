package dev.cryo.parasite;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.ProcMaps;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.SignalFrame;
import dev.cryo.syscalls.UserRegs;

/**
 * How a thread that cryo abandons in the middle of its work (cryo killed, even by SIGKILL, which runs no
 * cleanup) goes back to what it was doing. When a tracer dies the kernel detaches its tracees, and each
 * runs on from whatever registers cryo last gave it; so those registers always lead back to the thread's
 * own state:
 *
 * <ul>
 * <li>Injected calls run at a {@code syscall} instruction that cryo writes, with a few more instructions,
 *     into the zero padding that ends the vDSO (past the ELF image: never executed or read by anything):
 *     <pre>
 *     G+0   syscall            ; the injected call; cryo takes the result at its exit stop
 *     G+2   mov $11, %eax      ; abandoned: munmap(r12, r13), the parasite's area (r13 = 0: leave it)
 *     G+7   mov %r12, %rdi
 *     G+10  mov %r13, %rsi
 *     G+13  syscall
 *     G+15  mov $15, %eax      ; rt_sigreturn from the frame at rsp
 *     G+20  syscall
 *     G+22  ud2
 *     </pre></li>
 * <li>Before a thread runs its first injected call, a signal frame holding its own registers, xsave state
 *     and signal mask is written below its red zone (where the kernel itself would put a signal frame),
 *     and every call runs with rsp pointing at it. A system call the thread was inside is restarted in the
 *     frame's registers, as the kernel would restart it.</li>
 * <li>Only the process's first thread unmaps the area; the others pass a length of 0. Should a thread's
 *     stack have no room for its frame, that thread is not protected (a log line says so).</li>
 * </ul>
 *
 * cryo's own cure, when it lives, uses the same instructions: the area's munmap at G+13, then each thread
 * back into a PTRACE_INTERRUPT stop with its own registers ({@link InjectedCall#returnTo}), then the
 * padding is zeroed again.
 *
 * <p>Where the padding has room, a loop goes right before G, so that many calls that only read the task's
 * state take one stop instead of two each ({@link Parasite#queries}): rdi a table of entries of 8 words (nr,
 * six arguments, the result it stores), rsi how many, rbp one more entry, the stop call. It makes each call in
 * turn until one fails (rax in -4095..-1), stores how many succeeded in the stop entry's result, and makes the
 * stop call: tgkill of the thread itself with a signal that the thread neither blocks nor handles. Traced, the
 * thread stops there (a signal-delivery stop, which cryo suppresses); abandoned, the signal is ignored and the
 * thread falls through into G+2, as from an injected call. It keeps r12, r13 and rsp for that:
 * <pre>
 *     L+0   mov %rdi,%rbx; mov %rsi,%r14; xor %r15d,%r15d
 *     L+9   cmp %r14,%r15; jae L+64
 *           mov (%rbx),%rax; mov 8(%rbx),%rdi; ... mov 48(%rbx),%r9; syscall; mov %rax,56(%rbx)
 *           cmp $-4095,%rax; jae L+64; add $64,%rbx; inc %r15; jmp L+9
 *     L+64  mov %r15,56(%rbp); mov (%rbp),%rax; mov 8(%rbp),%rdi; mov 16(%rbp),%rsi; mov 24(%rbp),%rdx
 *     L+84  syscall            ; the stop call
 *     L+86  jmp G+2
 * </pre>
 */
final class SelfCure {
    /** The code above, as the words that are poked. */
    private static final long[] CODE = words("0f05" + "b80b000000" + "4c89e7" + "4c89ee" + "0f05" + "b80f000000" + "0f05" + "0f0b");
    static final long CALL = 0;
    static final long UNMAP = 13;
    private static final long SIZE = CODE.length * 8L;
    /** The loop above, which ends right before the code's first word (assembled with GNU as, bytes from objdump). */
    private static final long[] LOOP = words("4889fb4989f64531ff4d39f77332488b03488b7b08488b7310488b53184c8b53204c8b43284c8b4b30"
            + "0f0548894338483d01f0ffff73094883c34049ffc7ebc94c897d38488b4500488b7d08488b7510488b55180f05eb02");
    private static final long LOOP_SIZE = LOOP.length * 8L;
    /** Where the thread stops in the loop: right after its stop call's {@code syscall}. */
    private static final long LOOP_STOP = 86;
    /** The x86-64 ABI's red zone below rsp, which leaf functions use without moving rsp. */
    private static final long RED_ZONE = 128;
    private static final int XSAVE_MAX = 16384;
    private static final int ELF_HEADER = 64;

    private static long[] words(String hex) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(java.util.HexFormat.of().parseHex(hex)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long[] w = new long[b.capacity() / 8];
        for (int i = 0; i < w.length; i++) {
            w[i] = b.getLong();
        }
        return w;
    }

    private final int pid;
    private final long at;
    /** Where the loop starts, right before {@link #at}; 0 if the padding has no room for it. */
    private final long loop;
    private boolean placed;
    private boolean loopPlaced;

    private SelfCure(int pid, long at, long loop) {
        this.pid = pid;
        this.at = at;
        this.loop = loop;
    }

    /**
     * Writes the code into the vDSO padding of {@code t}'s process. Returns null when the process has no
     * vDSO with room (a kernel booted with vdso=0, a vDSO that the program unmapped): its threads are not
     * protected then.
     */
    static SelfCure place(Traced t, List<ProcMaps.Mapping> maps) {
        ProcMaps.Mapping vdso = ProcMaps.named(maps, "[vdso]");
        if (vdso == null) {
            return null;
        }
        long free = padding(t.pid(), vdso);
        long at = vdso.end() - SIZE;
        if (free == 0 || free > at) {
            return null;
        }
        long loop = free <= at - LOOP_SIZE ? at - LOOP_SIZE : 0;
        SelfCure c = new SelfCure(t.pid(), at, loop);
        for (int i = 0; i < CODE.length; i++) {
            Ptrace.pokeData(t.tid(), at + 8L * i, CODE[i]);
        }
        c.placed = true;
        return c;
    }

    /**
     * Where the vDSO's zero padding starts: everything from the end of its ELF file (section headers last) to
     * the end of the mapping is zero. 0 if it is not an ELF image or has a non-zero byte there.
     */
    private static long padding(int pid, ProcMaps.Mapping vdso) {
        try (Arena arena = Arena.ofConfined(); var mem = Io.open("/proc/" + pid + "/mem", Kernel.O_RDONLY)) {
            MemorySegment image = arena.allocate(vdso.size(), 8);
            if (Io.pread(mem.fd(), image, vdso.start()) != vdso.size() || image.get(ValueLayout.JAVA_INT_UNALIGNED, 0) != 0x464c457f) {
                return 0;
            }
            long end = Math.max(ELF_HEADER, image.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x28)
                    + (long) Short.toUnsignedInt(image.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0x3a))
                    * Short.toUnsignedInt(image.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0x3c)));
            long phoff = image.get(ValueLayout.JAVA_LONG_UNALIGNED, 0x20);
            int phentsize = Short.toUnsignedInt(image.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0x36));
            for (int i = 0; i < Short.toUnsignedInt(image.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0x38)); i++) {
                long ph = phoff + (long) i * phentsize;
                if (ph + 56 > image.byteSize()) {
                    return 0;
                }
                end = Math.max(end, image.get(ValueLayout.JAVA_LONG_UNALIGNED, ph + 8) + image.get(ValueLayout.JAVA_LONG_UNALIGNED, ph + 32));
            }
            end = (end + 7) & -8L;
            if (end >= vdso.size()) {
                return 0;
            }
            for (long o = end; o < vdso.size(); o++) {
                if (image.get(ValueLayout.JAVA_BYTE, o) != 0) {
                    return 0;
                }
            }
            return vdso.start() + end;
        } catch (ErrnoException e) {
            return 0;
        }
    }

    /** Address of the injected call's {@code syscall}. */
    long callIp() {
        return at + CALL;
    }

    /** Address of the {@code syscall} that unmaps the area, for cryo's own cure. */
    long unmapIp() {
        return at + UNMAP;
    }

    /** Whether the padding has room for the loop, for {@link Parasite#queries}. */
    boolean hasLoop() {
        return loop != 0;
    }

    /** Writes the loop on its first use: a pre-dump, which asks nothing, does not pay for it. */
    void placeLoop(Traced t) {
        if (loop != 0 && placed && !loopPlaced) {
            for (int i = 0; i < LOOP.length; i++) {
                Ptrace.pokeData(t.tid(), loop + 8L * i, LOOP[i]);
            }
            loopPlaced = true;
        }
    }

    long loopIp() {
        return loop;
    }

    /** Where a thread that ran the loop stops: right after its stop call. */
    long loopStop() {
        return loop + LOOP_STOP;
    }

    /**
     * Writes thread {@code t}'s cure frame below its red zone and returns the rsp that makes its
     * rt_sigreturn load it: {@code original} (with a system call it was in restarted), its xsave state and
     * signal mask. Returns 0 when the stack has no room for it.
     */
    long writeFrame(Traced t, UserRegs original, List<ProcMaps.Mapping> maps, Parasite writer) {
        int tid = t.tid();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(XSAVE_MAX, 64);
            long xsize = Ptrace.getRegset(tid, Kernel.NT_X86_XSTATE, buf);
            long top = original.rsp() - RED_ZONE;
            ProcMaps.Mapping stack = ProcMaps.at(maps, top - 1);
            if (stack == null || !stack.writable() || SignalFrame.lowest(top, xsize) < stack.start()) {
                return 0;
            }
            UserRegs resume = new UserRegs().copyFrom(original);
            resume.restartInterruptedCall();
            SignalFrame frame = SignalFrame.below(top, resume, buf.asSlice(0, xsize), Ptrace.getSigmask(tid), arena);
            writer.write(frame.address(), frame.bytes());
            return frame.sigreturnSp();
        }
    }

    /** Zeroes the padding again; the task runs none of it any more. */
    void remove(Traced t) {
        if (placed) {
            placed = false;
            for (int i = 0; i < CODE.length; i++) {
                Ptrace.pokeData(t.tid(), at + 8L * i, 0);
            }
            for (int i = 0; loopPlaced && i < LOOP.length; i++) {
                Ptrace.pokeData(t.tid(), loop + 8L * i, 0);
            }
            loopPlaced = false;
        }
    }

    @Override
    public String toString() {
        return String.format("cure code at 0x%x in pid %d", at, pid);
    }
}
