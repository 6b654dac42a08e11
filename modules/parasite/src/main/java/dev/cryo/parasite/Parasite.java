package dev.cryo.parasite;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.iovec;
import dev.cryo.bindings.user_regs_struct;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.ProcessVm;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.Wait;

/**
 * System calls run inside a stopped process.
 *
 * <p>{@link #infect} writes {@code syscall; int3} over the first bytes of the vDSO for one call, which maps
 * the parasite's own area (a code page holding {@code syscall; int3} and scratch memory), then puts the vDSO
 * bytes back. Each later call sets a thread's registers to run the code page and continues it to the int3,
 * so no single-stepping is needed. {@link #close} cures: unmaps the area and gives every thread it used its
 * original registers back.
 */
public final class Parasite implements AutoCloseable {
    private static final long PAGE = 4096;
    public static final long SCRATCH_SIZE = 256 * 1024;

    private final int pid;
    private final Tracee leader;
    private final Arena arena = Arena.ofConfined();
    private final Map<Integer, MemorySegment> savedRegs = new LinkedHashMap<>();
    private final long regsSize = user_regs_struct.sizeof();
    /** The registers of the call being injected. */
    private final MemorySegment callRegs = arena.allocate(regsSize, 8);
    private long base;

    private Parasite(Tracee leader) {
        this.pid = leader.pid();
        this.leader = leader;
    }

    /** Places the parasite's area in the process of {@code leader}, which must be stopped. */
    public static Parasite infect(Tracee leader) {
        Parasite p = new Parasite(leader);
        try {
            p.base = p.bootstrapMap(PAGE + SCRATCH_SIZE);
            Ptrace.pokeData(leader.tid(), p.base, InjectedCall.CODE);
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    private long bootstrapMap(long length) {
        long at = executableAddress();
        int tid = leader.tid();
        long original = Ptrace.peekData(tid, at);
        Ptrace.pokeData(tid, at, (original & ~0xffffffL) | InjectedCall.CODE);
        try {
            long r = run(leader, at, Linux.__NR_mmap(), 0, length,
                    Linux.PROT_READ() | Linux.PROT_WRITE() | Linux.PROT_EXEC(),
                    Linux.MAP_PRIVATE() | Linux.MAP_ANONYMOUS(), -1, 0, false);
            return check("mmap", r, 0, length);
        } finally {
            Ptrace.pokeData(tid, at, original);
        }
    }

    /** The vDSO's first bytes, or the start of the first executable mapping if there is no vDSO. */
    private long executableAddress() {
        long fallback = 0;
        for (String line : Proc.read(pid, "maps").split("\n")) {
            String[] f = line.split("\\s+");
            if (f.length < 2) {
                continue;
            }
            long start = Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
            if (line.endsWith("[vdso]")) {
                return start;
            }
            if (fallback == 0 && f[1].charAt(2) == 'x') {
                fallback = start;
            }
        }
        if (fallback == 0) {
            throw new IllegalStateException("pid " + pid + " has no executable mapping to start the parasite from");
        }
        return fallback;
    }

    public int pid() {
        return pid;
    }

    /** Start of the parasite's own area in the target: the code page, then {@link #SCRATCH_SIZE} bytes of scratch. */
    public long areaStart() {
        return base;
    }

    public long areaEnd() {
        return base + PAGE + SCRATCH_SIZE;
    }

    /** Scratch memory in the target for system-call arguments and results. */
    public long scratch() {
        return base + PAGE;
    }

    /** Runs system call {@code nr} in the process's leader thread; returns its result or throws with the errno. */
    public long syscall(String name, long nr, long... args) {
        return syscallIn(leader, name, nr, args);
    }

    /** Runs system call {@code nr} in thread {@code t} of this process (for per-thread state like sigaltstack). */
    public long syscallIn(Tracee t, String name, long nr, long... args) {
        if (t.pid() != pid) {
            throw new IllegalArgumentException("thread " + t.tid() + " is not in process " + pid);
        }
        long[] a = java.util.Arrays.copyOf(args, 6);
        long r = run(t, base, nr, a[0], a[1], a[2], a[3], a[4], a[5], false);
        return check(name, r, args);
    }

    private long check(String name, long r, long... args) {
        if (r < 0 && r >= -4095) {
            throw new ErrnoException(name + " in pid " + pid, args, (int) -r);
        }
        return r;
    }

    /** Copies {@code data} into the scratch area at {@code offset}. */
    public void writeScratch(long offset, MemorySegment data) {
        transfer(true, offset, data);
    }

    /** Copies scratch bytes from {@code offset} into {@code into}. */
    public void readScratch(long offset, MemorySegment into) {
        transfer(false, offset, into);
    }

    private void transfer(boolean write, long offset, MemorySegment local) {
        if (offset < 0 || offset + local.byteSize() > SCRATCH_SIZE) {
            throw new IllegalArgumentException("scratch range out of bounds: " + offset + "+" + local.byteSize());
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = iovec.allocate(a);
            iovec.iov_base(l, local);
            iovec.iov_len(l, local.byteSize());
            MemorySegment r = iovec.allocate(a);
            iovec.iov_base(r, MemorySegment.ofAddress(scratch() + offset));
            iovec.iov_len(r, local.byteSize());
            long n = write ? ProcessVm.writev(pid, l, 1, r, 1) : ProcessVm.readv(pid, l, 1, r, 1);
            if (n != local.byteSize()) {
                throw new IllegalStateException("short scratch transfer in pid " + pid + ": " + n + " of " + local.byteSize());
            }
        }
    }

    /** The registers {@code t} had before the parasite touched it. */
    private MemorySegment saved(Tracee t) {
        return savedRegs.computeIfAbsent(t.tid(), tid -> {
            MemorySegment regs = arena.allocate(regsSize, 8);
            Ptrace.getRegset(tid, Linux.NT_PRSTATUS(), regs);
            return regs;
        });
    }

    /**
     * Runs {@code syscall; int3} at {@code ip} in thread {@code t} and returns rax. With {@code expectFault},
     * the code page itself is being unmapped and the thread stops with SIGSEGV at the int3 instead.
     */
    private long run(Tracee t, long ip, long nr, long a, long b, long c, long d, long e, long f, boolean expectFault) {
        return InjectedCall.run(t.tid(), saved(t), callRegs, ip, nr, new long[] {a, b, c, d, e, f}, expectFault, new InjectedCall.Stops() {
            @Override
            public RuntimeException gone(Wait.Status status) {
                t.markGone();
                return new Tracee.TaskExitedException(t.tid());
            }

            @Override
            public void other(Wait.Status status) {
                if (status.event() == 0) {
                    t.holdSignal(status.stopSignal()); // sent again when the tree is released
                }
            }
        });
    }

    /** Cures: unmaps the parasite's area and restores the registers of every thread it ran in. */
    @Override
    public void close() {
        RuntimeException first = null;
        try {
            if (base != 0) {
                long start = base;
                base = 0;
                // munmap returns to the unmapped int3: the thread stops with SIGSEGV there, which is never delivered.
                long r = run(leader, start, Linux.__NR_munmap(), start, PAGE + SCRATCH_SIZE, 0, 0, 0, 0, true);
                check("munmap", r, start);
            }
        } catch (RuntimeException e) {
            first = e;
        }
        for (Map.Entry<Integer, MemorySegment> saved : savedRegs.entrySet()) {
            try {
                Ptrace.setRegset(saved.getKey(), Linux.NT_PRSTATUS(), saved.getValue());
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        savedRegs.clear();
        arena.close();
        if (first != null && !(first instanceof Tracee.TaskExitedException)) {
            throw first;
        }
    }

    /** Reads one 8-byte word from the target's memory. */
    public long peek(long addr) {
        return Ptrace.peekData(leader.tid(), addr);
    }
}
