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
 * never pass through cryo's memory. One pipe per task, refilled pipe-full by pipe-full, so a tree of any size
 * holds one pipe at a time: its read end in cryo, its write end in the task (its read end there is closed at
 * once, so a cryo killed mid-way leaves the task one extra fd, O_CLOEXEC). A writer thread splicing one pipe
 * out while the task fills the next (four pipes in turn) was tried: no gain on two busy cores (1 GiB: 339-460
 * ms against 345-533 ms, alternated), so it all runs on the tracer's thread.
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
    /** The pipe's write end in the task. */
    private final int writeEnd;
    private final Fd pipe;
    private final long capacity;
    private Fd mem;
    private long spliced;
    private long read;
    private long calls;
    private long callNanos;
    private long outNanos;

    private SpliceStream(Parasite task, int writeEnd, Fd pipe, long capacity) {
        this.task = task;
        this.writeEnd = writeEnd;
        this.pipe = pipe;
        this.capacity = capacity;
    }

    /** Makes the task's pipe (the task must be stopped, {@code task} infected) and takes its read end. */
    public static SpliceStream open(Parasite task) {
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
            return new SpliceStream(task, ends[0], read, size(task, ends[0]));
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

    public long outNanos() {
        return outNanos;
    }

    /**
     * Moves the pages of {@code ranges} (in order) to {@code to}. {@code checkpoint} runs between pipe-fulls and
     * may throw to abandon the work.
     */
    public void stream(List<PageRange> ranges, Target to, Runnable checkpoint) throws Exception {
        int i = 0;
        long offset = 0;
        while (i < ranges.size()) {
            checkpoint.run();
            int iovs = 0;
            long asked = 0;
            int j = i;
            long o = offset;
            while (j < ranges.size() && asked < capacity && iovs < IOV_MAX) {
                PageRange r = ranges.get(j);
                long take = Math.min(r.bytes() - o, capacity - asked);
                IoVec.set(iov, iovs++, r.start() + o, take);
                asked += take;
                o += take;
                if (o == r.bytes()) {
                    j++;
                    o = 0;
                }
            }
            long got;
            long t0 = System.nanoTime();
            try (Scratch s = task.scratch()) {
                calls++;
                got = task.syscall("vmsplice", Kernel.__NR_vmsplice, writeEnd, s.put(iov.asSlice(0, iovs * IoVec.SIZE)),
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
                to.fromPipe(pipe, got);
                outNanos += System.nanoTime() - t1;
                spliced += got;
                n = got;
            } else {
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

    /** Closes the pipe: cryo's end, then the task's (pages still in it are dropped). */
    @Override
    public void close() {
        Fd m = mem;
        try (arena; pipe; m) {
            task.syscall("close", Kernel.__NR_close, writeEnd);
        }
    }
}
