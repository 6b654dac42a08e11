package dev.cryo.pagepipe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.IoVec;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Pidfd;

/**
 * The final dump's splice mode: the stopped task vmsplices its pages into a pipe of its own (run inside it
 * by the {@link Parasite}), and cryo at once splices them out of the pipe's read end (taken with
 * {@code pidfd_getfd}) to a {@link Target}: a pages image (one copy, the kernel's, into the file) or a
 * page-server socket (no copy: the socket references the task's pages until the peer has them). The pages
 * never pass through cryo's memory. A small task has one pipe, refilled pipe-full by pipe-full; a bigger one
 * two ({@link #open(Parasite, int)}): while the task vmsplices into one (an injected call, ptrace's round
 * trips), a thread of cryo's splices the other on, so that the two overlap instead of taking turns (1 GiB
 * across a veth to a page server: see docs/benchmarks.md, "Page server"; to tmpfs, four pipes were measured
 * earlier at 339-460 ms against 345-533 ms, no clear gain, where the copy into the file is the bottleneck).
 * A tree of any size holds one process's pipes at a time: their read ends in cryo, their write ends in the
 * task (its read ends there are closed at once, so a cryo killed mid-way leaves the task an extra fd per
 * pipe, O_CLOEXEC).
 *
 * <p>A pipe filled by vmsplice holds references to the task's pages, not copies: whatever the task writes
 * afterwards is what leaves. The task must therefore stay stopped until the target has the bytes for good:
 * a file has them when splice returns; a socket's peer has them when it has confirmed them (the page server's
 * CLOSE answer). Pre-dump's {@link SpliceCollector} is the other use of vmsplice, where the tree runs before
 * its pipes are drained and the dirty tracker makes up for it.
 *
 * <p>Pages that vmsplice cannot take (a mapping without PROT_READ: EFAULT) are read through /proc/PID/mem,
 * which a tracer may force, and written from a buffer at their place in the order.
 */
public final class SpliceStream implements AutoCloseable {
    /** Where the pages go, in order: from the pipe, or from memory for pages that vmsplice refused. */
    public interface Target {
        /** Moves exactly {@code bytes} that wait in {@code pipe} on; the pipe is empty afterwards. */
        void fromPipe(Fd pipe, long bytes) throws Exception;

        /** The next bytes, from cryo's memory (valid during the call). */
        void write(MemorySegment data) throws Exception;
    }

    /**
     * Larger pipes save injected calls (each pipe-full is one vmsplice, 0.1-0.4 ms here with ptrace's round
     * trips), but hold more of the task at once: 4 MiB at most. This machine's pipe-max-size is 1 MiB (64 calls
     * for 64 MiB, 6-28 ms of frozen time measured); cryo has no CAP_SYS_RESOURCE here to go beyond it.
     */
    private static final long PIPE_LIMIT = 4L << 20;
    private static final int IOV_MAX = 1024;

    private final Parasite task;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment iov = IoVec.allocateArray(arena, IOV_MAX);
    private final MemorySegment page = arena.allocate(Page.SIZE, Page.SIZE);
    /** The pipes' write ends in the task, and their read ends in cryo (index for index). */
    private final int[] writeEnds;
    private final Fd[] pipes;
    private final long capacity;
    private Fd mem;
    private long spliced;
    private long read;
    private long calls;
    private long callNanos;
    private long outNanos;
    private long waitNanos;

    private SpliceStream(Parasite task, int[] writeEnds, Fd[] pipes, long capacity) {
        this.task = task;
        this.writeEnds = writeEnds;
        this.pipes = pipes;
        this.capacity = capacity;
    }

    /** Makes the task's pipe (the task must be stopped, {@code task} infected) and takes its read end. */
    public static SpliceStream open(Parasite task) {
        return open(task, 1);
    }

    /**
     * Makes {@code count} pipes in the task: with more than one, {@link #stream} fills the next while a
     * thread of cryo's moves the last on (see there).
     */
    public static SpliceStream open(Parasite task, int count) {
        int[] writeEnds = new int[count];
        Fd[] reads = new Fd[count];
        int made = 0;
        try {
            for (; made < count; made++) {
                Object[] one = openOne(task);
                writeEnds[made] = (Integer) one[0];
                reads[made] = (Fd) one[1];
            }
            long capacity = size(task, writeEnds[0]);
            for (int i = 1; i < count; i++) {
                capacity = Math.min(capacity, size(task, writeEnds[i]));
            }
            return new SpliceStream(task, writeEnds, reads, capacity);
        } catch (RuntimeException e) {
            for (int i = 0; i < made; i++) {
                reads[i].close();
                try {
                    closeInTask(task, new int[] {writeEnds[i]});
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
    }

    /** One pipe in the task: its write end there, its read end in cryo. */
    private static Object[] openOne(Parasite task) {
        int[] ends;
        try (Arena a = Arena.ofConfined(); Scratch s = task.scratch()) {
            MemorySegment fds = a.allocate(ValueLayout.JAVA_INT, 2);
            long at = s.reserve(fds.byteSize());
            task.syscall("pipe2", Kernel.__NR_pipe2, at, Kernel.O_CLOEXEC);
            s.read(at, fds);
            ends = new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
        }
        Fd read = null;
        try (Fd pidfd = Pidfd.open(task.pid())) {
            read = Pidfd.getFd(pidfd, ends[0]);
            // the task keeps only the end it vmsplices into: one fd, should cryo die before it closes it
            task.syscall("close", Kernel.__NR_close, ends[0]);
            ends = new int[] {ends[1]};
            return new Object[] {ends[0], read};
        } catch (RuntimeException e) {
            if (read != null) {
                read.close();
            }
            try {
                closeInTask(task, ends);
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    /** Sizes the pipe, from inside the task (the task's limit): pipe-max-size, at most {@link #PIPE_LIMIT}. */
    private static long size(Parasite task, int writeEnd) {
        long want = Math.min(SpliceCollector.pipeMaxSize(), PIPE_LIMIT);
        long got;
        try {
            got = task.syscall("fcntl(F_SETPIPE_SZ)", Kernel.__NR_fcntl, writeEnd, Kernel.F_SETPIPE_SZ, want);
        } catch (ErrnoException e) {
            got = task.syscall("fcntl(F_GETPIPE_SZ)", Kernel.__NR_fcntl, writeEnd, Kernel.F_GETPIPE_SZ);
        }
        return Math.min(got, want);
    }

    /** Bytes that went through the pipe, and bytes read instead (vmsplice refused them). */
    public long splicedBytes() {
        return spliced;
    }

    public long readBytes() {
        return read;
    }

    /** Injected vmsplice calls made. */
    public long vmspliceCalls() {
        return calls;
    }

    /** Time spent in the injected vmsplice calls (the task's side), and in moving the pipe's bytes on. */
    public long vmspliceNanos() {
        return callNanos;
    }

    /** Time the tracer waited for an empty pipe (several pipes only): the target was slower than the task. */
    public long waitNanos() {
        return waitNanos;
    }

    public long outNanos() {
        return outNanos;
    }

    /**
     * Moves the pages of {@code ranges} (in order) to {@code to}. {@code checkpoint} runs between pipe-fulls and
     * may throw to abandon the work.
     */
    public void stream(List<PageRange> ranges, Target to, Runnable checkpoint) throws Exception {
        try (Mover mover = pipes.length > 1 ? new Mover(to, pipes.length) : null) {
            int i = 0;
            long offset = 0;
            int next = 0;
            while (i < ranges.size()) {
                checkpoint.run();
                long w0 = System.nanoTime();
                int slot = mover == null ? 0 : mover.free();
                waitNanos += System.nanoTime() - w0;
                int iovs = SpliceCollector.iovecs(iov, IOV_MAX, ranges, i, offset, capacity);
                long got;
                long t0 = System.nanoTime();
                try (Scratch s = task.scratch()) {
                    calls++;
                    got = task.syscall("vmsplice", Kernel.__NR_vmsplice, writeEnds[slot], s.put(iov.asSlice(0, iovs * IoVec.SIZE)),
                            iovs, Kernel.SPLICE_F_NONBLOCK);
                } catch (ErrnoException e) {
                    if (e.is(Errno.ESRCH)) {
                        // the task died (SIGKILL) under the injected call
                        PagesGoneException gone = new PagesGoneException(String.format("cannot read pages at 0x%x of pid %d: it is gone",
                                ranges.get(i).start() + offset, task.pid()));
                        gone.addSuppressed(e);
                        throw gone;
                    }
                    if (!e.is(Errno.EFAULT)) {
                        throw e;
                    }
                    got = 0; // the first page is not readable (PROT_NONE): it goes the /proc/PID/mem way
                }
                long t1 = System.nanoTime();
                callNanos += t1 - t0;
                long n;
                if (got > 0) {
                    if (mover == null) {
                        to.fromPipe(pipes[0], got);
                        outNanos += System.nanoTime() - t1;
                    } else {
                        mover.move(slot, got);
                    }
                    spliced += got;
                    n = got;
                } else {
                    if (mover != null) {
                        mover.release(slot);
                        mover.drain(); // what the pipes hold goes first
                    }
                    PageRange r = ranges.get(i);
                    long at = r.start() + offset;
                    n = Math.min(Page.SIZE - at % Page.SIZE, r.bytes() - offset);
                    MemorySegment into = page.asSlice(0, n);
                    readForced(at, into);
                    to.write(into);
                    read += n;
                }
                // past what went out
                while (n > 0) {
                    PageRange r = ranges.get(i);
                    long take = Math.min(r.bytes() - offset, n);
                    n -= take;
                    offset += take;
                    if (offset == r.bytes()) {
                        i++;
                        offset = 0;
                    }
                }
            }
            if (mover != null) {
                mover.drain();
                outNanos += mover.nanos;
            }
        }
    }

    /**
     * A thread of cryo's that moves filled pipes on to the target, in the order they were filled, while the
     * task fills the next: the injected vmsplice (ptrace's round trips) and the splice onto a socket (the
     * kernel's TCP work) overlap instead of taking turns. Pipes are handed over through queues; the first
     * failure of the target stops it and is thrown on the tracer's thread at its next hand-over.
     */
    private final class Mover implements AutoCloseable {
        private static final long STOP = -1;
        private final Target to;
        private final java.util.concurrent.BlockingQueue<long[]> filled = new java.util.concurrent.LinkedBlockingQueue<>();
        private final java.util.concurrent.BlockingQueue<Integer> free = new java.util.concurrent.LinkedBlockingQueue<>();
        private final int count;
        private final Thread thread;
        private volatile Throwable failure;
        private volatile boolean abandoned;
        private volatile long nanos;

        Mover(Target to, int count) {
            this.to = to;
            this.count = count;
            for (int k = 0; k < count; k++) {
                free.add(k);
            }
            thread = Thread.ofPlatform().name("cryo-splice-out-" + task.pid()).daemon().start(this::run);
        }

        private void run() {
            long spent = 0;
            try {
                while (true) {
                    long[] job = filled.take();
                    if (job[0] == STOP) {
                        return;
                    }
                    if (failure == null && !abandoned) {
                        long t0 = System.nanoTime();
                        try {
                            to.fromPipe(pipes[(int) job[0]], job[1]);
                        } catch (Throwable e) {
                            failure = e;
                        }
                        spent += System.nanoTime() - t0;
                        nanos = spent;
                    }
                    free.add((int) job[0]);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** The next empty pipe, once the thread has moved it on. */
        int free() throws Exception {
            int slot = free.take();
            rethrow();
            return slot;
        }

        void move(int slot, long bytes) {
            filled.add(new long[] {slot, bytes});
        }

        void release(int slot) {
            free.add(slot);
        }

        /** Waits until every pipe is moved on (and empty). */
        void drain() throws Exception {
            java.util.List<Integer> all = new java.util.ArrayList<>(count);
            for (int k = 0; k < count; k++) {
                all.add(free.take());
            }
            free.addAll(all);
            rethrow();
        }

        private void rethrow() throws Exception {
            Throwable f = failure;
            if (f instanceof Exception e) {
                throw e;
            }
            if (f instanceof Error e) {
                throw e;
            }
        }

        /**
         * Stops the thread and waits for it: after a {@link #drain} it has nothing left; otherwise (a failure on
         * the tracer's side) what it was given and has not begun is dropped.
         */
        @Override
        public void close() {
            abandoned = true;
            filled.add(new long[] {STOP, 0});
            boolean interrupted = false;
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void readForced(long at, MemorySegment into) {
        if (mem == null) {
            mem = Io.open("/proc/" + task.pid() + "/mem", Kernel.O_RDONLY);
        }
        long n = Io.pread(mem.fd(), into, at);
        if (n != into.byteSize()) {
            throw new PagesGoneException(String.format("cannot read the page at 0x%x of pid %d", at, task.pid()));
        }
    }

    /** Closes the task's pipe ends that are still open there: one injected call when they are neighbours. */
    private static void closeInTask(Parasite task, int[] ends) {
        if (ends.length == 2 && Math.abs(ends[0] - ends[1]) == 1) {
            task.syscall("close_range", Kernel.__NR_close_range, Math.min(ends[0], ends[1]), Math.max(ends[0], ends[1]), 0);
        } else {
            for (int fd : ends) {
                task.syscall("close", Kernel.__NR_close, fd);
            }
        }
    }

    /** Closes the pipes: cryo's ends, then the task's (pages still in them are dropped). */
    @Override
    public void close() {
        Fd m = mem;
        try (arena; m) {
            for (Fd p : pipes) {
                p.close();
            }
            int lo = java.util.Arrays.stream(writeEnds).min().orElseThrow();
            int hi = java.util.Arrays.stream(writeEnds).max().orElseThrow();
            if (writeEnds.length > 1 && hi - lo + 1 == writeEnds.length) {
                task.syscall("close_range", Kernel.__NR_close_range, lo, hi, 0);
            } else {
                closeInTask(task, writeEnds);
            }
        }
    }
}
