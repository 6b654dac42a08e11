package dev.cryo.parasite;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.ProcMaps;
import dev.cryo.syscalls.ProcessVm;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.UserRegs;

/**
 * System calls run inside a stopped process: the one way cryo runs code in a task, for the dump (a
 * seized task) and the restore (its puppets), with compel's few verbs.
 *
 * <pre>{@code
 * try (Parasite p = Parasite.infect(leader)) {            // area mapped in the task, cure frames ready
 *     long fd = p.syscall("userfaultfd", Linux.__NR_userfaultfd(), Linux.O_CLOEXEC());
 *     try (Scratch s = p.scratch()) { ... }               // memory for pointer arguments
 * }                                                       // close() cures: area gone, registers back
 * }</pre>
 *
 * Each call sets a thread's registers to make the call at a {@code syscall} instruction and runs it from
 * its entry stop to its exit stop ({@link InjectedCall}). A dumped task's calls run where {@link SelfCure}
 * put them, so that a task whose cryo dies at any instant goes back to its own state by itself; a puppet's
 * run at the start of its area ({@code syscall; ud2}), as a puppet dies with cryo (PTRACE_O_EXITKILL).
 */
public final class Parasite implements AutoCloseable {
    /** Scratch memory of a dump's parasite (splice mode's iovecs use most of it). */
    public static final long DUMP_SCRATCH = 256 * 1024;
    /** {@code syscall; ud2} (0f 05 0f 0b): the code at the start of an area that holds its own code. */
    private static final long CODE = 0x0b0f050fL;
    /**
     * Where the batch loop lies in such an area's code page, and the loop itself: rdi a table of entries of
     * 8 words (nr, six arguments, the result it stores), rsi how many; it makes each call in turn, stops at
     * the first that fails (rax in -4095..-1), and ends on an int3 with rax the number that succeeded.
     * <pre>
     *   mov %rdi,%rbx; mov %rsi,%r12; xor %r13d,%r13d
     * next: cmp %r12,%r13; jae done
     *   mov (%rbx),%rax; mov 8(%rbx),%rdi; ... mov 48(%rbx),%r9; syscall; mov %rax,56(%rbx)
     *   cmp $-4095,%rax; jae done; add $64,%rbx; inc %r13; jmp next
     * done: mov %r13,%rax; int3
     * </pre>
     */
    private static final long BATCH_AT = 16;
    private static final String BATCH_CODE = "4889fb4989f44531ed4d39e57332488b03488b7b08488b7310488b53184c8b53204c8b43284c8b4b30"
            + "0f0548894338483d01f0ffff73094883c34049ffc5ebc94c89e8cc";
    private static final long BATCH_END = BATCH_AT + BATCH_CODE.length() / 2;
    private static final int BATCH_ENTRY = 64;
    /** How far below the main stack an area keeps away: the stack grows down into that range. */
    private static final long STACK_REACH = 16L << 20;

    /** A thread that calls ran in: its registers before the first, and those every call starts from. */
    private record Calls(Traced thread, UserRegs original, UserRegs start) {}

    private final int pid;
    private final Traced leader;
    private final Map<Integer, Calls> threads = new LinkedHashMap<>();
    private final UserRegs callRegs = new UserRegs();
    /** A dumped task's: where its calls run and how it cures itself; null for a puppet. */
    private final SelfCure cure;
    /** Whether the task is a dumped one, whose registers the cure gives back (a puppet's are restored from images). */
    private final boolean dumped;
    private final List<ProcMaps.Mapping> maps;
    private final List<Integer> unprotected = new ArrayList<>();
    /** Threads that died under a call: nothing of them to cure. */
    private final java.util.Set<Integer> gone = new java.util.HashSet<>();
    private long area;
    private long areaSize;
    private long ip;
    private Scratch scratch;
    private boolean closed;
    /** The process's handled signals (SigCgt), read once for {@link #queries}; null until then. */
    private Long handled;
    /** Whether the process has seccomp filters (or /proc said too little): its queries go one at a time. */
    private boolean noQueries;

    private Parasite(Traced leader, boolean dumped, SelfCure cure, List<ProcMaps.Mapping> maps) {
        this.pid = leader.pid();
        this.leader = leader;
        this.dumped = dumped;
        this.cure = cure;
        this.maps = maps;
    }

    /**
     * Maps the parasite's area in the process of {@code leader}, a seized, stopped thread of a dumped tree,
     * at a free range of its address space; its calls run at the self-cure code in the vDSO padding. A
     * process without room there gets its area with code of its own, bootstrapped from its first executable
     * mapping, and is not protected against cryo's death ({@link #unprotectedThreads}).
     */
    public static Parasite infect(Traced leader) {
        List<ProcMaps.Mapping> maps = ProcMaps.of(leader.pid());
        SelfCure cure = SelfCure.place(leader, maps);
        StopPoints.reach("infect");
        Parasite p = new Parasite(leader, true, cure, maps);
        try {
            if (cure != null) {
                p.areaSize = DUMP_SCRATCH;
                p.area = freeRange(leader.pid(), maps, p.areaSize);
                p.ip = cure.callIp();
                long r = p.run(leader, p.ip, Kernel.__NR_mmap, p.area, p.areaSize, Kernel.PROT_READ | Kernel.PROT_WRITE,
                        Kernel.MAP_PRIVATE | Kernel.MAP_ANONYMOUS | Kernel.MAP_FIXED_NOREPLACE, -1, 0);
                p.placed("mmap(parasite area)", r);
                p.scratch = new Scratch(p, p.area, p.areaSize);
            } else {
                p.unprotected.add(leader.tid());
                p.bootstrapFrom(executableStart(leader.pid(), maps));
            }
            return p;
        } catch (RuntimeException e) {
            p.closeAfter(e);
            throw e;
        }
    }

    /**
     * Maps an area with code of its own at {@code at} in the puppet {@code t}, whose first call runs at the
     * {@code syscall} instruction at {@code bootIp} (the stub's). Later calls run at the area's code page;
     * {@code size} bytes in all, the code page first.
     */
    public static Parasite boot(Traced t, long bootIp, long at, long size) {
        Parasite p = new Parasite(t, false, null, List.of());
        p.areaSize = size;
        try {
            long r = p.run(t, bootIp, Kernel.__NR_mmap, at, size, Kernel.PROT_READ | Kernel.PROT_WRITE | Kernel.PROT_EXEC,
                    Kernel.MAP_PRIVATE | Kernel.MAP_ANONYMOUS | Kernel.MAP_FIXED_NOREPLACE, -1, 0);
            p.area = at;
            p.placed("mmap(trampoline)", r);
            p.codeAt(at);
            return p;
        } catch (RuntimeException e) {
            p.closeAfter(e);
            throw e;
        }
    }

    /**
     * The parasite of a process that an injected clone made from this one: the area is the same, in the
     * child's copy of the memory (or the very same memory, for a thread: use {@link #syscallIn} instead).
     */
    public Parasite child(Traced child) {
        if (cure != null || dumped) {
            throw new IllegalStateException("a dumped task's parasite does not follow clones");
        }
        Parasite p = new Parasite(child, false, null, List.of());
        p.area = area;
        p.areaSize = areaSize;
        p.ip = ip;
        p.scratch = new Scratch(p, area + Page.SIZE, areaSize - Page.SIZE);
        return p;
    }

    /** The old way, for a task without a vDSO to hold the cure code: one word of its text borrowed for the first call. */
    private void bootstrapFrom(long text) {
        areaSize = Page.SIZE + DUMP_SCRATCH;
        long at = freeRange(pid, maps, areaSize);
        long original = Ptrace.peekData(leader.tid(), text);
        Ptrace.pokeData(leader.tid(), text, (original & ~0xffff_ffffL) | CODE);
        long r;
        try {
            r = run(leader, text, Kernel.__NR_mmap, at, areaSize, Kernel.PROT_READ | Kernel.PROT_WRITE | Kernel.PROT_EXEC,
                    Kernel.MAP_PRIVATE | Kernel.MAP_ANONYMOUS | Kernel.MAP_FIXED_NOREPLACE, -1, 0);
        } finally {
            Ptrace.pokeData(leader.tid(), text, original);
        }
        area = at;
        placed("mmap(parasite area)", r);
        codeAt(at);
    }

    private void codeAt(long at) {
        Ptrace.pokeData(leader.tid(), at, CODE);
        byte[] loop = java.util.HexFormat.of().parseHex(BATCH_CODE + "cc".repeat((8 - BATCH_CODE.length() / 2 % 8) % 8));
        java.nio.ByteBuffer words = java.nio.ByteBuffer.wrap(loop).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < loop.length / 8; i++) {
            Ptrace.pokeData(leader.tid(), at + BATCH_AT + 8L * i, words.getLong());
        }
        ip = at;
        scratch = new Scratch(this, at + Page.SIZE, areaSize - Page.SIZE);
    }

    private void placed(String what, long r) {
        if (r != area) {
            long wanted = area;
            area = 0;
            if (r < 0 && r >= -4095) {
                throw new ErrnoException(what + " in pid " + pid, new long[] {wanted, areaSize}, (int) -r);
            }
            throw new InfectionFailure(String.format("%s in pid %d: mapped at 0x%x, not at 0x%x", what, pid, r, wanted));
        }
    }

    /**
     * The highest free range of {@code size} bytes, with a free page on each side (so that it never merges
     * with a neighbour), below the reach of the main stack.
     */
    static long freeRange(int pid, List<ProcMaps.Mapping> maps, long size) {
        long need = size + 2 * Page.SIZE;
        ProcMaps.Mapping stack = ProcMaps.named(maps, "[stack]");
        long limit = stack != null ? stack.start() - STACK_REACH : 0x7fff_ffff_f000L;
        for (int i = maps.size(); i >= 0; i--) {
            long lo = i == 0 ? 0x10000 : maps.get(i - 1).end();
            long hi = Math.min(i == maps.size() ? 0x7fff_ffff_f000L : maps.get(i).start(), limit);
            if (hi - lo >= need) {
                return hi - Page.SIZE - size;
            }
        }
        throw new InfectionFailure("pid " + pid + " has no free range of " + size + " bytes for cryo's parasite");
    }

    private static long executableStart(int pid, List<ProcMaps.Mapping> maps) {
        for (ProcMaps.Mapping m : maps) {
            if (m.executable() && !m.name().equals("[vsyscall]")) {
                return m.start();
            }
        }
        throw new InfectionFailure("pid " + pid + " has no executable mapping to start the parasite from");
    }

    public int pid() {
        return pid;
    }

    /** Start of the parasite's area in the task. */
    public long areaStart() {
        return area;
    }

    public long areaEnd() {
        return area + areaSize;
    }

    /** Whether threads of the task would die if cryo died now: they had no room for a cure frame, or the task no vDSO. */
    public List<Integer> unprotectedThreads() {
        return List.copyOf(unprotected);
    }

    /** Runs system call {@code nr} in the leader thread; returns its result or throws with the errno. */
    public long syscall(String name, long nr, long... args) {
        return syscallIn(leader, name, nr, args);
    }

    /** Runs system call {@code nr} in thread {@code t} of this process (for per-thread state like sigaltstack). */
    public long syscallIn(Traced t, String name, long nr, long... args) {
        if (area == 0 || closed) {
            throw new IllegalStateException("pid " + pid + " has no parasite area (cured or unmapped)");
        }
        long r = run(t, ip, nr, args);
        if (r < 0 && r >= -4095) {
            throw new ErrnoException(name + " in pid " + pid, args, (int) -r);
        }
        return r;
    }

    /**
     * Cures thread {@code t} of a dumped task ahead of the others, once it has made its last call: back to
     * its own registers, as {@link #close} would take it back, and forgotten, so that what is held for a
     * task's threads does not grow with their number (a 5000-thread process). A later call in it starts over
     * from those registers. The leader is cured only with the whole task: it unmaps the area.
     */
    public void cure(Traced t) {
        Calls c = threads.get(t.tid());
        if (!dumped || c == null || t.tid() == leader.tid()) {
            return;
        }
        if (!gone.contains(t.tid())) {
            InjectedCall.returnTo(t, c.original());
            StopPoints.reach("cure-thread");
        }
        threads.remove(t.tid());
    }

    /** One call of a {@link #batch}: its name for messages, its number and arguments (six at most). */
    public record Call(String name, long nr, long... args) {}

    /**
     * Runs {@code calls} in thread {@code t}, in order, with one stop for many of them: a loop in the area's
     * code makes them one after the other (up to as many as the scratch memory holds a table for, then the
     * next lot), and stops at the first that fails, which is thrown naming it and its errno; the calls before
     * it are done. Returns their results. For a parasite with code of its own (a puppet's), whose task dies
     * with cryo: the loop ends on an int3.
     */
    public long[] batch(Traced t, java.util.List<Call> calls) {
        if (dumped || area == 0 || closed) {
            throw new IllegalStateException("pid " + pid + " has no parasite code to run a batch (a dumped task runs one call at a time)");
        }
        long[] results = new long[calls.size()];
        int per = (int) Math.min(Integer.MAX_VALUE, scratch.capacity() / BATCH_ENTRY);
        for (int from = 0; from < calls.size(); from += per) {
            int n = Math.min(per, calls.size() - from);
            try (Scratch s = scratch()) {
                runLot(t, calls, from, n, s, results);
            }
        }
        return results;
    }

    /**
     * As {@link #batch(Traced, java.util.List)}, for calls whose pointer arguments lie in {@code args}, the scratch
     * memory the caller holds open: their table goes there too, after them, in one lot (an
     * IllegalArgumentException when it does not fit).
     */
    public long[] batch(Traced t, java.util.List<Call> calls, Scratch args) {
        if (dumped || area == 0 || closed) {
            throw new IllegalStateException("pid " + pid + " has no parasite code to run a batch (a dumped task runs one call at a time)");
        }
        long[] results = new long[calls.size()];
        if (!calls.isEmpty()) {
            runLot(t, calls, 0, calls.size(), args, results);
        }
        return results;
    }

    private void runLot(Traced t, java.util.List<Call> calls, int from, int n, Scratch s, long[] results) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment table = a.allocate((long) n * BATCH_ENTRY, 8);
            for (int i = 0; i < n; i++) {
                Call c = calls.get(from + i);
                if (c.args().length > 6) {
                    throw new IllegalArgumentException(c.name() + ": more than six arguments");
                }
                table.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i * 8L, c.nr());
                for (int k = 0; k < c.args().length; k++) {
                    table.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i * 8L + 1 + k, c.args()[k]);
                }
            }
            long at = s.put(table);
            callRegs.copyFrom(calls(t).start()).syscallAt(area + BATCH_AT, 0, at, n);
            long done = InjectedCall.runToTrap(t, callRegs, area + BATCH_END);
            s.read(at, table);
            for (int i = 0; i < n; i++) {
                results[from + i] = table.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i * 8L + 7);
            }
            if (done < n) {
                Call failed = calls.get(from + (int) done);
                throw new ErrnoException(failed.name() + " in pid " + pid, failed.args(), (int) -results[from + (int) done]);
            }
        }
    }

    /**
     * Runs {@code calls} in the leader of a dumped task, in order, and returns their results; the first
     * that fails is thrown naming it and its errno (the calls before it are done). Their pointer arguments lie
     * in {@code s}, which also takes the table of calls. Where the task allows it they take one stop in all:
     * {@link SelfCure}'s loop, in the leader (with a cure frame and a signal it neither blocks nor handles to
     * stop on), in a task without seccomp filters; otherwise, and in other threads, one call at a time. A thread that cryo abandons in
     * the loop makes the rest of the calls without it, then cures itself: only calls that change nothing of
     * the task (queries of its state) belong here.
     */
    public long[] queries(Scratch s, List<Call> calls) {
        return queries(leader, s, calls);
    }

    /** {@link #queries(Scratch, List)} in thread {@code t} of the task: for what each thread holds of its own. */
    public long[] queries(Traced t, Scratch s, List<Call> calls) {
        if (!dumped || area == 0 || closed) {
            throw new IllegalStateException("pid " + pid + " has no parasite of a dumped task to query");
        }
        long[] results = new long[calls.size()];
        int signal = calls.size() > 1 ? stopSignal(t) : 0;
        if (signal == 0) {
            for (int i = 0; i < calls.size(); i++) {
                Call c = calls.get(i);
                results[i] = syscallIn(t, c.name(), c.nr(), c.args());
            }
            return results;
        }
        int n = calls.size();
        cure.placeLoop(leader);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment table = a.allocate((long) (n + 1) * BATCH_ENTRY, 8);
            for (int i = 0; i < n; i++) {
                entry(table, i, calls.get(i).name(), calls.get(i).nr(), calls.get(i).args());
            }
            entry(table, n, "tgkill", Kernel.__NR_tgkill, pid, t.tid(), signal);
            long at = s.put(table);
            callRegs.copyFrom(calls(t).start()).syscallAt(cure.loopIp(), 0, at, n);
            callRegs.rbp(at + (long) n * BATCH_ENTRY);
            try {
                InjectedCall.runToSignal(t, callRegs, cure.loopStop(), signal);
            } catch (Tracee.TaskExitedException e) {
                gone.add(t.tid());
                throw e;
            }
            s.read(at, table);
            long done = table.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, n * 8L + 7);
            for (int i = 0; i < n; i++) {
                results[i] = table.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i * 8L + 7);
            }
            if (done < 0 || done > n) {
                throw new InfectionFailure("pid " + pid + ": the query loop in thread " + t.tid() + " says " + done + " calls of " + n + " were made");
            }
            if (done < n) {
                Call failed = calls.get((int) done);
                throw new ErrnoException(failed.name() + " in pid " + pid, failed.args(), (int) -results[(int) done]);
            }
            return results;
        }
    }

    /** Signals whose default action is to ignore them: one of these, neither blocked nor handled, is a stop that changes nothing. */
    private static final int[] IGNORED_SIGNALS = {Kernel.SIGURG, Kernel.SIGWINCH, Kernel.SIGCHLD};

    /**
     * The signal that ends {@link #queries}'s loop in thread {@code t}, or 0 for one call at a time: the thread
     * needs its cure frame (its way back should cryo die in the loop), and the signal must change nothing if it
     * is delivered after cryo's death: neither blocked (it would stay pending, and the thread would run past
     * the stop) nor handled; a seccomp filter might refuse or punish the tgkill.
     */
    private int stopSignal(Traced t) {
        calls(t);
        // Only the leader: abandoned, it unmaps the area once its loop is done, and another thread's loop, which
        // reads its table and writes its answers there, would fault if it ran on after that (seen in a test).
        if (cure == null || !cure.hasLoop() || t.tid() != leader.tid() || unprotected.contains(t.tid())) {
            return 0;
        }
        if (handled == null) {
            String seccomp = Proc.status(pid, "Seccomp");
            String caught = Proc.status(pid, "SigCgt");
            noQueries = caught == null || seccomp != null && !seccomp.equals("0");
            handled = noQueries ? 0 : Long.parseUnsignedLong(caught, 16);
        }
        if (noQueries) {
            return 0;
        }
        long blocked = Ptrace.getSigmask(t.tid());
        for (int sig : IGNORED_SIGNALS) {
            long bit = 1L << (sig - 1);
            if ((blocked & bit) == 0 && (handled & bit) == 0) {
                return sig;
            }
        }
        return 0;
    }

    private static void entry(MemorySegment table, int i, String name, long nr, long... args) {
        if (args.length > 6) {
            throw new IllegalArgumentException(name + ": more than six arguments");
        }
        table.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i * 8L, nr);
        for (int k = 0; k < args.length; k++) {
            table.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i * 8L + 1 + k, args[k]);
        }
    }

    /** Makes thread {@code t} start system call {@code nr} and does not wait for it: for one that does not return. */
    public void launch(Traced t, long nr, long... args) {
        callRegs.copyFrom(calls(t).start()).syscallAt(ip, nr, args);
        InjectedCall.launch(t, callRegs);
    }

    /** The scratch memory for pointer arguments; closing it frees what it handed out. */
    public Scratch scratch() {
        if (scratch == null) {
            throw new IllegalStateException("pid " + pid + " has no parasite area");
        }
        return scratch.open();
    }

    /** Copies {@code data} to {@code addr} in the task (mapped writable there). */
    public void write(long addr, MemorySegment data) {
        ProcessVm.writeFully(pid, addr, data);
    }

    /** Copies {@code into.byteSize()} bytes at {@code addr} in the task into {@code into}. */
    public void read(long addr, MemorySegment into) {
        ProcessVm.readFully(pid, addr, into);
    }

    /** Reads one 8-byte word from the task's memory. */
    public long peek(long addr) {
        return Ptrace.peekData(leader.tid(), addr);
    }

    private Calls calls(Traced t) {
        Calls c = threads.get(t.tid());
        if (c != null) {
            return c;
        }
        if (t.pid() != pid) {
            throw new IllegalArgumentException("thread " + t.tid() + " is not in process " + pid);
        }
        UserRegs original = UserRegs.of(t.tid());
        UserRegs start = new UserRegs().copyFrom(original);
        if (cure != null) {
            long sp = cure.writeFrame(t, original, maps, this);
            if (sp == 0) {
                unprotected.add(t.tid());
            } else {
                start.rsp(sp);
                StopPoints.reach("frame");
            }
            // Only the leader takes the area away: a second munmap, after the first, could hit a new mapping there.
            start.r12(area);
            start.r13(t == leader && sp != 0 ? areaSize : 0);
        }
        c = new Calls(t, original, start);
        threads.put(t.tid(), c);
        return c;
    }

    private long run(Traced t, long at, long nr, long... args) {
        callRegs.copyFrom(calls(t).start()).syscallAt(at, nr, args);
        try {
            return InjectedCall.run(t, callRegs);
        } catch (Tracee.TaskExitedException e) {
            gone.add(t.tid());
            throw e;
        }
    }

    /** Unmaps the area from inside the task (a puppet's trampoline before its registers are loaded). */
    public void unmap() {
        if (area == 0) {
            return;
        }
        long start = area;
        long at = cure != null ? cure.unmapIp() : ip;
        area = 0;
        long r = run(leader, at, Kernel.__NR_munmap, start, areaSize);
        if (r != 0) {
            throw new ErrnoException("munmap(parasite area) in pid " + pid, new long[] {start, areaSize}, (int) -r);
        }
    }

    /**
     * Cures a dumped task: every thread but the leader back to its own registers, the area unmapped by the
     * leader, the leader back, the cure code gone. A puppet's parasite only lets go of its memory: the
     * puppet's registers come from the images. Every failure is kept; one that only says a task exited is not
     * thrown.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        try {
            // A task that died (killed while cryo worked) has nothing left to cure.
            if (dumped && !gone.contains(leader.tid()) && alive()) {
                for (Calls c : threads.values()) {
                    if (c.thread() != leader && !gone.contains(c.thread().tid())) {
                        failure = attempt(failure, () -> InjectedCall.returnTo(c.thread(), c.original()));
                        StopPoints.reach("cure-thread");
                    }
                }
                failure = attempt(failure, this::unmap);
                StopPoints.reach("cure-unmapped");
                Calls lead = threads.get(leader.tid());
                if (lead != null) {
                    failure = attempt(failure, () -> InjectedCall.returnTo(leader, lead.original()));
                    StopPoints.reach("cure-thread");
                }
                if (cure != null) {
                    failure = attempt(failure, () -> cure.remove(leader));
                }
            }
        } finally {
            threads.clear();
        }
        StopPoints.reach("cured");
        if (failure != null && !(failure instanceof Tracee.TaskExitedException)) {
            throw failure;
        }
    }

    private boolean alive() {
        try {
            return Proc.stat(pid).state() != 'Z';
        } catch (Proc.TaskGoneException e) {
            return false;
        }
    }

    /** Closes after a failure to set up, keeping that failure the one thrown. */
    private void closeAfter(RuntimeException e) {
        try {
            close();
        } catch (RuntimeException c) {
            e.addSuppressed(c);
        }
    }

    private static RuntimeException attempt(RuntimeException failure, Runnable step) {
        try {
            step.run();
            return failure;
        } catch (RuntimeException e) {
            if (failure == null) {
                return e;
            }
            failure.addSuppressed(e);
            return failure;
        }
    }
}
