package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

import dev.cryo.bindings.Linux;

/**
 * Raw system calls through libc's {@code syscall(2)}, with errno captured at the call.
 *
 * <p>jextract cannot capture errno, so the downcall is made here with {@code captureCallState("errno")}
 * on the address jextract found. A failure becomes an {@link ErrnoException} naming the call, its
 * arguments and errno. Going through {@code syscall(2)} rather than glibc's wrappers keeps the kernel's
 * own semantics (glibc's {@code ptrace} wrapper, for one, rewrites the PEEK requests).
 */
public final class Syscall {
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL6;

    static {
        ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
        SYSCALL6 = Linker.nativeLinker().downcallHandle(
                Linux.syscall.makeInvoker().address(),
                FunctionDescriptor.of(l, l, l, l, l, l, l, l),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    }

    // One capture buffer per thread: calls never nest on a thread, and this spares an arena per call.
    private static final ThreadLocal<MemorySegment> STATE = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private Syscall() {}

    private static long raw(String name, int argc, long nr, long a, long b, long c, long d, long e, long f) {
        MemorySegment state = STATE.get();
        long r;
        try {
            r = (long) SYSCALL6.invokeExact(state, nr, a, b, c, d, e, f);
        } catch (Throwable t) {
            throw new IllegalStateException("downcall to syscall(2) failed", t);
        }
        if (r == -1) {
            long[] args = Arrays.copyOf(new long[] {a, b, c, d, e, f}, argc);
            throw new ErrnoException(name, args, (int) ERRNO.get(state, 0L));
        }
        return r;
    }

    public static long call(String name, long nr) {
        return raw(name, 0, nr, 0, 0, 0, 0, 0, 0);
    }

    public static long call(String name, long nr, long a) {
        return raw(name, 1, nr, a, 0, 0, 0, 0, 0);
    }

    public static long call(String name, long nr, long a, long b) {
        return raw(name, 2, nr, a, b, 0, 0, 0, 0);
    }

    public static long call(String name, long nr, long a, long b, long c) {
        return raw(name, 3, nr, a, b, c, 0, 0, 0);
    }

    public static long call(String name, long nr, long a, long b, long c, long d) {
        return raw(name, 4, nr, a, b, c, d, 0, 0);
    }

    public static long call(String name, long nr, long a, long b, long c, long d, long e) {
        return raw(name, 5, nr, a, b, c, d, e, 0);
    }

    public static long call(String name, long nr, long a, long b, long c, long d, long e, long f) {
        return raw(name, 6, nr, a, b, c, d, e, f);
    }
}
