package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.iovec;

/**
 * ptrace(2) requests. A tracee belongs to the OS thread that seized it: every request for a task must
 * come from that same thread, or the kernel answers ESRCH.
 */
public final class Ptrace {
    private Ptrace() {}

    private static long ptrace(String what, long request, int tid, long addr, long data) {
        return Syscall.call("ptrace(" + what + ", " + tid + ")", Linux.__NR_ptrace(), request, tid, addr, data);
    }

    public static void seize(int tid, long options) {
        ptrace("PTRACE_SEIZE", Linux.PTRACE_SEIZE(), tid, 0, options);
    }

    public static void interrupt(int tid) {
        ptrace("PTRACE_INTERRUPT", Linux.PTRACE_INTERRUPT(), tid, 0, 0);
    }

    public static void cont(int tid, int signal) {
        ptrace("PTRACE_CONT", Linux.PTRACE_CONT(), tid, 0, signal);
    }

    /** Continues the tracee to its next system-call entry or exit stop (SIGTRAP | 0x80 with PTRACE_O_TRACESYSGOOD). */
    public static void syscall(int tid, int signal) {
        ptrace("PTRACE_SYSCALL", Linux.PTRACE_SYSCALL(), tid, 0, signal);
    }

    public static void singleStep(int tid, int signal) {
        ptrace("PTRACE_SINGLESTEP", Linux.PTRACE_SINGLESTEP(), tid, 0, signal);
    }

    public static void detach(int tid, int signal) {
        ptrace("PTRACE_DETACH", Linux.PTRACE_DETACH(), tid, 0, signal);
    }

    public static void setOptions(int tid, long options) {
        ptrace("PTRACE_SETOPTIONS", Linux.PTRACE_SETOPTIONS(), tid, 0, options);
    }

    /** Reads register set {@code note} (NT_PRSTATUS, NT_X86_XSTATE...) into {@code buf}; returns the size the kernel filled. */
    public static long getRegset(int tid, int note, MemorySegment buf) {
        return regset("PTRACE_GETREGSET", Linux.PTRACE_GETREGSET(), tid, note, buf);
    }

    public static void setRegset(int tid, int note, MemorySegment buf) {
        regset("PTRACE_SETREGSET", Linux.PTRACE_SETREGSET(), tid, note, buf);
    }

    /** A regset request with {@code buf} described by an iovec, whose length the kernel sets to what it used. */
    private static long regset(String name, int request, int tid, int note, MemorySegment buf) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment iov = iovec.allocate(arena);
            iovec.iov_base(iov, buf);
            iovec.iov_len(iov, buf.byteSize());
            ptrace(name + " " + note, request, tid, note, iov.address());
            return iovec.iov_len(iov);
        }
    }

    /** One word of the tracee's memory; the raw request stores it through {@code data}, unlike glibc's wrapper. */
    public static long peekData(int tid, long addr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(ValueLayout.JAVA_LONG);
            ptrace("PTRACE_PEEKDATA", Linux.PTRACE_PEEKDATA(), tid, addr, word.address());
            return word.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** Writes one word, even into read-only text (the kernel forces the write, copying the page). */
    public static void pokeData(int tid, long addr, long word) {
        ptrace("PTRACE_POKEDATA", Linux.PTRACE_POKEDATA(), tid, addr, word);
    }

    /** The siginfo of the signal that stopped the tracee, into a 128-byte {@code buf}. */
    public static void getSigInfo(int tid, MemorySegment buf) {
        ptrace("PTRACE_GETSIGINFO", Linux.PTRACE_GETSIGINFO(), tid, 0, buf.address());
    }

    public static long getEventMsg(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(ValueLayout.JAVA_LONG);
            ptrace("PTRACE_GETEVENTMSG", Linux.PTRACE_GETEVENTMSG(), tid, 0, word.address());
            return word.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** The blocked-signal mask of a stopped thread (64 bits, signal n at bit n-1). */
    public static long getSigmask(int tid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(ValueLayout.JAVA_LONG);
            ptrace("PTRACE_GETSIGMASK", Linux.PTRACE_GETSIGMASK(), tid, 8, mask.address());
            return mask.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    public static void setSigmask(int tid, long mask) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(ValueLayout.JAVA_LONG);
            m.set(ValueLayout.JAVA_LONG, 0, mask);
            ptrace("PTRACE_SETSIGMASK", Linux.PTRACE_SETSIGMASK(), tid, 8, m.address());
        }
    }

    /** glibc's rseq registration of a thread, into a {@code ptrace_rseq_configuration}. */
    public static void getRseqConfiguration(int tid, MemorySegment conf) {
        ptrace("PTRACE_GET_RSEQ_CONFIGURATION", Linux.PTRACE_GET_RSEQ_CONFIGURATION(), tid, conf.byteSize(), conf.address());
    }

    /**
     * Pending signals without dequeuing them: up to {@code count} siginfos from position {@code offset}
     * of the thread's queue (or the process's shared queue with {@code shared}). Returns how many were copied.
     */
    public static int peekSigInfo(int tid, long offset, boolean shared, MemorySegment buf, int count) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment args = arena.allocate(16);
            args.set(ValueLayout.JAVA_LONG, 0, offset);
            args.set(ValueLayout.JAVA_INT, 8, shared ? 1 : 0); // PTRACE_PEEKSIGINFO_SHARED
            args.set(ValueLayout.JAVA_INT, 12, count);
            return (int) ptrace("PTRACE_PEEKSIGINFO", Linux.PTRACE_PEEKSIGINFO(), tid, args.address(), buf.address());
        }
    }
}
