package dev.cryo.pagepipe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
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
import dev.cryo.syscalls.Rlimits;

/**
 * Splice mode: while the task is stopped, it vmsplices its own pages into pipes (run inside it by the
 * {@link Parasite}); cryo takes each pipe's read end with {@code pidfd_getfd} and closes the task's ends, so the
 * task's fd table is as it was. After the task is released, {@link #drain} moves the pipes' pages to a
 * consumer. Pipes are sized to {@code /proc/sys/fs/pipe-max-size}; while stopped, cryo holds no more of
 * them than its fd limit allows, draining the oldest early when it must. The pages in pipes are pinned:
 * {@link #peakPinnedBytes} says how much that was at most.
 *
 * <p>Pages that vmsplice cannot take (a mapping without PROT_READ) are read through /proc/PID/mem instead,
 * at their place in the order.
 */
public final class SpliceCollector implements AutoCloseable {
    /** Fds cryo keeps free for everything else while holding pipes. */
    private static final int FD_RESERVE = 128;

    private final Parasite task;
    private final Fd pidfd;
    private final BufferPool pool;
    private final PageConsumer consumer;
    private final long pipeSize;
    private final int maxPipes;
    private final Arena arena = Arena.ofConfined();
    private final Deque<Part> parts = new ArrayDeque<>();
    private final MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
    private final MemorySegment iov = IoVec.allocateArray(arena, 1024);
    private Fd mem;
    private long pinned;
    private long peakPinned;
    private long pipesUsed;
    private long earlyDrains;

    /** Pages held in order: a pipe's read end, or bytes read through /proc/PID/mem. */
    private sealed interface Part permits PipePart, MemoryPart {}

    private record PipePart(Fd pipe, List<PageRange> ranges, long bytes) implements Part {}

    private record MemoryPart(List<PageRange> ranges, MemorySegment data) implements Part {}

    /** {@code consumer} receives the pages in order, on the thread that calls {@link #splice} and {@link #drain}. */
    public SpliceCollector(Parasite task, BufferPool pool, PageConsumer consumer) {
        this(task, pool, consumer, Integer.MAX_VALUE);
    }

    /** As above, holding at most {@code maxPipes} pipes (fewer if cryo's fd limit says so). */
    public SpliceCollector(Parasite task, BufferPool pool, PageConsumer consumer, int maxPipes) {
        this.task = task;
        this.pool = pool;
        this.consumer = consumer;
        this.pidfd = Pidfd.open(task.pid());
        this.pipeSize = Math.min(pipeMaxSize(), pool.bufferSize());
        long fdBudget = fdLimit() - openFds() - FD_RESERVE;
        this.maxPipes = (int) Math.max(1, Math.min(maxPipes, fdBudget));
    }

    /** {@code /proc/sys/fs/pipe-max-size}: the largest pipe an unprivileged process may ask for. */
    public static long pipeMaxSize() {
        try (Fd f = Io.open("/proc/sys/fs/pipe-max-size", Kernel.O_RDONLY); Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(64);
            long n = Io.read(f.fd(), buf);
            return Long.parseLong(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).trim());
        }
    }

    private static long fdLimit() {
        return Rlimits.get(0, Kernel.RLIMIT_NOFILE).cur();
    }

    private static long openFds() {
        try (var s = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    public long peakPinnedBytes() {
        return peakPinned;
    }

    public long pipesUsed() {
        return pipesUsed;
    }

    /** Pipes drained while the task was still stopped, because the fd limit allowed no more. */
    public long earlyDrains() {
        return earlyDrains;
    }

    /** vmsplices the pages of {@code ranges} (in order) into pipes; the task must be stopped. */
    public void splice(List<PageRange> ranges, Runnable checkpoint) throws Exception {
        int i = 0;
        long offset = 0;
        while (i < ranges.size()) {
            checkpoint.run();
            while (parts.size() >= maxPipes) {
                earlyDrains++;
                drainOne();
            }
            int[] ends = pipeInTask();
            List<PageRange> inPipe = new ArrayList<>();
            long filled = 0;
            long capacity = pipeSize;
            boolean faulted = false;
            try {
                capacity = Math.min(pipeSize, task.syscall("fcntl(F_SETPIPE_SZ)", Kernel.__NR_fcntl, ends[1], Kernel.F_SETPIPE_SZ, pipeSize));
            } catch (ErrnoException e) {
                capacity = task.syscall("fcntl(F_GETPIPE_SZ)", Kernel.__NR_fcntl, ends[1], Kernel.F_GETPIPE_SZ);
            }
            while (i < ranges.size() && filled < capacity && !faulted) {
                // One vmsplice for as many ranges as fit the pipe.
                int iovs = iovecs(iov, (int) (iov.byteSize() / IoVec.SIZE), ranges, i, offset, capacity - filled);
                long got;
                try (Scratch s = task.scratch()) {
                    got = task.syscall("vmsplice", Kernel.__NR_vmsplice, ends[1], s.put(iov.asSlice(0, iovs * IoVec.SIZE)),
                            iovs, Kernel.SPLICE_F_NONBLOCK);
                } catch (ErrnoException e) {
                    if (e.is(Errno.EFAULT)) {
                        faulted = true; // the next page is not readable: it goes the /proc/PID/mem way
                        got = 0;
                    } else if (e.is(Errno.EAGAIN)) {
                        break; // pipe full
                    } else {
                        throw e;
                    }
                }
                got -= got % Page.SIZE;
                // advance over what went in
                long left = got;
                while (left > 0) {
                    PageRange r = ranges.get(i);
                    long take = Math.min(r.bytes() - offset, left);
                    PresentPages.add(inPipe, r.start() + offset, r.start() + offset + take);
                    left -= take;
                    offset += take;
                    if (offset == r.bytes()) {
                        i++;
                        offset = 0;
                    }
                }
                filled += got;
                if (got == 0) {
                    faulted = true; // nothing went in of what was asked: the rest goes the /proc/PID/mem way
                }
            }
            Fd read = filled > 0 ? Pidfd.getFd(pidfd, ends[0]) : null;
            closeInTask(ends);
            if (read != null) {
                parts.add(new PipePart(read, inPipe, filled));
                pipesUsed++;
                pinned += filled;
                peakPinned = Math.max(peakPinned, pinned);
            }
            if (faulted && i < ranges.size()) {
                PageRange r = ranges.get(i);
                long at = r.start() + offset;
                MemorySegment page = arena.allocate(Page.SIZE, Page.SIZE);
                readForced(at, page);
                parts.add(new MemoryPart(List.of(new PageRange(at, 1)), page));
                offset += Page.SIZE;
                if (offset == r.bytes()) {
                    i++;
                    offset = 0;
                }
            }
        }
    }

    /** Closes the task's two pipe ends: one injected call when they are neighbours, as pipe2 usually makes them. */
    private void closeInTask(int[] ends) {
        int lo = Math.min(ends[0], ends[1]);
        int hi = Math.max(ends[0], ends[1]);
        if (hi == lo + 1) {
            task.syscall("close_range", Kernel.__NR_close_range, lo, hi, 0);
        } else {
            task.syscall("close", Kernel.__NR_close, ends[1]);
            task.syscall("close", Kernel.__NR_close, ends[0]);
        }
    }

    private int[] pipeInTask() {
        try (Scratch s = task.scratch()) {
            long at = s.reserve(fds.byteSize());
            task.syscall("pipe2", Kernel.__NR_pipe2, at, Kernel.O_CLOEXEC);
            s.read(at, fds);
        }
        return new int[] {fds.getAtIndex(ValueLayout.JAVA_INT, 0), fds.getAtIndex(ValueLayout.JAVA_INT, 1)};
    }

    private void readForced(long at, MemorySegment page) {
        if (mem == null) {
            mem = Io.open("/proc/" + task.pid() + "/mem", Kernel.O_RDONLY);
        }
        long n = Io.pread(mem.fd(), page, at);
        if (n != page.byteSize()) {
            throw new PagesGoneException(String.format("cannot read the page at 0x%x of pid %d", at, task.pid()));
        }
    }

    /** Moves every held page to the consumer, in order; the task may run meanwhile. */
    public void drain(Runnable checkpoint) throws Exception {
        while (!parts.isEmpty()) {
            checkpoint.run();
            drainOne();
        }
    }

    private void drainOne() throws Exception {
        Part p = parts.poll();
        switch (p) {
            case MemoryPart m -> consumer.accept(new PageBatch(task.pid(), m.ranges(), m.data()));
            case PipePart pp -> {
                MemorySegment buf = pool.take();
                try (Fd pipe = pp.pipe()) {
                    long done = 0;
                    while (done < pp.bytes()) {
                        long n = Io.read(pipe.fd(), buf.asSlice(done, pp.bytes() - done));
                        if (n <= 0) {
                            throw new PagesGoneException("a page pipe of pid " + task.pid() + " ended after " + done
                                    + " of " + pp.bytes() + " bytes");
                        }
                        done += n;
                    }
                    consumer.accept(new PageBatch(task.pid(), pp.ranges(), buf.asSlice(0, pp.bytes())));
                } finally {
                    pool.give(buf);
                }
                pinned -= pp.bytes();
            }
        }
    }

    /** Closes every pipe still held (their pages are dropped). */
    @Override
    public void close() {
        for (Part p : parts) {
            if (p instanceof PipePart pp) {
                pp.pipe().close();
            }
        }
        parts.clear();
        try (pidfd) {
            if (mem != null) {
                mem.close();
            }
        } finally {
            arena.close();
        }
    }

    /**
     * Fills {@code iov} with the pages of {@code ranges} from range {@code i}, {@code offset} bytes into it, on:
     * at most {@code room} bytes in at most {@code most} iovecs, one per range (or part of one); returns how many.
     */
    static int iovecs(MemorySegment iov, int most, List<PageRange> ranges, int i, long offset, long room) {
        int iovs = 0;
        long asked = 0;
        for (int j = i; j < ranges.size() && asked < room && iovs < most; j++, offset = 0) {
            PageRange r = ranges.get(j);
            long take = Math.min(r.bytes() - offset, room - asked);
            IoVec.set(iov, iovs++, r.start() + offset, take);
            asked += take;
        }
        return iovs;
    }
}
