package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import dev.cryo.pagepipe.PageRange;
import dev.cryo.pagepipe.PagesGoneException;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.ProcessVm;

/**
 * A small {@code --leave-running} dump's pages, held in cryo's memory on their way from the frozen tree to the
 * images: read (pread of /proc/PID/mem, as {@code ReadCollector} reads) while the tree is frozen, and written
 * by a thread of their own that starts with the first megabyte and goes on after the release. The tree is then
 * frozen for the copy into memory, not for the write into the images as well (64 MiB into tmpfs here: the
 * write is the larger half).
 *
 * <p>Only for a tree whose leader has at most {@link #MAX} of anonymous memory when the dump starts: cryo's own
 * memory grows by what it holds, and a bigger dump goes the usual way (its pages through four 1 MiB buffers,
 * written while frozen). The memory is backed before the freeze, by a thread that runs during the warm-up and
 * the freeze: a page first touched under the copy costs a fault (64 MiB took 25-35 ms more here, as much as
 * the copy itself). The thread has the kernel back it a slice at a time (MADV_POPULATE_WRITE), then touches each
 * page, which a virtual machine may still trap; where that proves dear, --memdump-mode auto does not hold
 * ({@link #ready}). Transparent huge pages are not asked for, their first faults compacted memory for 180-260
 * ms here. A JVM that dumps again (a service) takes the last dump's memory, touched already, if it was used within
 * the last 30 s; cryo's memory stays that much larger meanwhile.
 */
final class HeldPages implements AutoCloseable {
    /** The most held: a 64 MiB process and its libraries, with room to spare. */
    static final long MAX = 96L << 20;
    private static final long CHUNK = 1L << 20;
    private static final long TOUCH_SLICE = 4L << 20;
    /**
     * A machine where backing and touching a page takes this long (a guest that traps first touches: 10 us here,
     * 170-185 ms for 64 MiB in C) copies into held memory slower than it writes through a few buffers while frozen:
     * 64 MiB, frozen 141-144 ms held against 67-68 ms (`scripts/bench-small --also-read`, quiet). Such a dump
     * writes its pages the usual way. Where a page took about 2 us (the machine of docs/benchmarks.md's
     * "held pages" figures), holding them halved the frozen time.
     */
    private static final long DEAR_TOUCH_NANOS = 5_000;
    /** A pagemap entry's bit: the page is mapped by this process alone (Documentation/admin-guide/mm/pagemap.rst). */
    private static final long PM_MMAP_EXCLUSIVE = 1L << 56;

    private final Mapping memory;
    /** --memdump-mode auto: hold only where touching the memory proved cheap; held: hold anyway. */
    private final boolean judge;
    private final Thread toucher;
    private volatile boolean stopTouching;
    /** Whether the toucher went through the whole memory, at less than {@link #DEAR_TOUCH_NANOS} a page. */
    private volatile boolean cheap;
    private final ExecutorService writer = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("cryo-held-pages").factory());
    /** The writer's first failure; the writes after it are skipped. */
    private volatile Throwable failure;
    private long used;
    private long writeNanos;
    private boolean finished;

    /**
     * The memory of the last dump that held its pages, kept (touched) for the next in a JVM that serves many
     * ({@code cryo service}), until {@link #SPARE_NANOS} after it was put back; at most one, the largest.
     */
    private static Mapping spare;
    private static long spareSince;
    private static Thread spareReaper;
    private static final long SPARE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private HeldPages(Mapping memory, boolean touched, boolean judge) {
        this.memory = memory;
        this.judge = judge;
        MemorySegment m = memory.segment();
        long size = memory.length();
        // In slices of 4 MiB, so that a stop waits for one slice at most. The kernel backs a slice in one call;
        // then each page is touched, since a virtual machine may trap the first touch of a page all the same.
        this.toucher = Thread.ofPlatform().name("cryo-held-touch").start(() -> {
            if (touched) {
                cheap = true;
                return;
            }
            long t0 = System.nanoTime();
            long at = 0;
            boolean dear = false;
            while (at < size && !stopTouching && !dear) {
                MemorySegment slice = m.asSlice(at, Math.min(TOUCH_SLICE, size - at));
                Mapping.populate(slice);
                for (long p = 0; p < slice.byteSize(); p += Page.SIZE) {
                    slice.set(ValueLayout.JAVA_BYTE, p, (byte) 0);
                }
                at += slice.byteSize();
                // judged on what was touched so far: a dear machine is told by the first slice, and not touched on
                dear = judge && System.nanoTime() - t0 > at / Page.SIZE * DEAR_TOUCH_NANOS;
            }
            cheap = at >= size && !dear;
        });
    }

    /** The spare memory if it has {@code size} bytes (now the caller's), else new memory, to be touched. */
    private static HeldPages take(long size, boolean judge) {
        synchronized (HeldPages.class) {
            if (spare != null && spare.length() >= size) {
                Mapping m = spare;
                spare = null;
                return new HeldPages(m, true, judge);
            }
        }
        return new HeldPages(Mapping.anonymous(size), false, judge);
    }

    /** Keeps {@code m} as the spare (unless a larger one is kept), dropped after {@link #SPARE_NANOS} unused. */
    private static void putBack(Mapping m) {
        Mapping drop;
        synchronized (HeldPages.class) {
            if (spare != null && spare.length() >= m.length()) {
                drop = m;
            } else {
                drop = spare;
                spare = m;
                spareSince = System.nanoTime();
                if (spareReaper == null) {
                    spareReaper = Thread.ofPlatform().daemon().name("cryo-held-spare").start(HeldPages::reapSpare);
                }
            }
        }
        if (drop != null) {
            drop.close();
        }
    }

    private static void reapSpare() {
        while (true) {
            try {
                Thread.sleep(TimeUnit.NANOSECONDS.toMillis(SPARE_NANOS) / 3);
            } catch (InterruptedException e) {
                return;
            }
            synchronized (HeldPages.class) {
                if (spare != null && System.nanoTime() - spareSince > SPARE_NANOS) {
                    spare.close();
                    spare = null;
                }
            }
        }
    }

    /**
     * Memory for the pages of a dump of {@code pid}'s tree, sized after its leader's anonymous memory now (the
     * tree's other processes usually share theirs, or have little), or null when that is more than {@link #MAX}.
     * With {@code judge} (--memdump-mode auto), touching it stops at the first slice that shows new memory dear,
     * and the dump then writes its pages the usual way ({@link #ready}).
     */
    static HeldPages forTree(int pid, boolean judge) {
        String anon;
        try {
            anon = Proc.status(pid, "RssAnon");
        } catch (RuntimeException e) {
            return null; // gone: the dump says so, in its own words
        }
        if (anon == null || !anon.endsWith(" kB")) {
            return null;
        }
        long bytes = Long.parseLong(anon.substring(0, anon.length() - 3).strip()) * 1024;
        long size = (bytes + bytes / 8 + 2 * CHUNK) & -CHUNK;
        return size > MAX ? null : take(size, judge);
    }

    /**
     * Whether to hold the pages at all: with --memdump-mode held always; with auto, when the memory is wholly
     * touched and touching it was cheap. Stops the toucher either way (it would take a core from the frozen tree's
     * dump).
     */
    boolean ready() {
        stopTouching();
        return cheap || !judge;
    }

    /** Whether {@code pages} more pages fit. */
    boolean fits(long pages) {
        return used + pages * Page.SIZE <= memory.length();
    }

    /**
     * Reads the pages of {@code plan} of process {@code pid} (stopped) into held memory, and queues their write:
     * the writer thread opens the process's sink of {@code pages}, writes each megabyte as it has been read, and
     * commits, processes in the order read.
     */
    void read(int pid, MemoryCollector.Plan plan, PageDestination pages, Runnable checkpoint, MemoryCollector.PageProgress progress) {
        stopTouching();
        long bytes = plan.present() * Page.SIZE;
        if (used + bytes > memory.length()) {
            throw new IllegalStateException("pid " + pid + ": " + bytes + " bytes of pages do not fit in the held memory");
        }
        MemorySegment into = memory.segment().asSlice(used, bytes);
        used += bytes;
        PageSink[] sink = new PageSink[1];
        submit(() -> {
            sink[0] = pages.open(PagemapType.PROCESS, pid);
            sink[0].begin(plan.runs());
        }, null);
        try (Fd mem = Io.open("/proc/" + pid + "/mem", Kernel.O_RDONLY);
             Fd pagemap = Io.open("/proc/" + pid + "/pagemap", Kernel.O_RDONLY);
             Arena arena = Arena.ofConfined()) {
            MemorySegment entries = arena.allocate(CHUNK / Page.SIZE * 8, 8);
            long at = 0;
            for (PageRange r : plan.ranges()) {
                for (long done = 0; done < r.bytes(); ) {
                    long n = Math.min(r.bytes() - done, CHUNK);
                    copy(pid, mem, pagemap, entries, r.start() + done, into.asSlice(at + done, n));
                    done += n;
                    MemorySegment chunk = into.asSlice(at + done - n, n);
                    checkpoint.run();
                    submit(() -> {
                        sink[0].write(chunk);
                        progress.add(chunk.byteSize() / Page.SIZE);
                    }, null);
                }
                at += r.bytes();
            }
            submit(() -> sink[0].commit(), sink);
        } catch (RuntimeException e) {
            submit(() -> {}, sink);
            throw e;
        }
    }

    /**
     * Copies the pages at {@code addr} into {@code into}: those mapped only in this process with
     * process_vm_readv (one copy), the others with pread of /proc/PID/mem (two: the kernel's own bounce
     * page). process_vm_readv pins what it reads, and the kernel gives a process its own copy of a
     * copy-on-write page before pinning it (see ReadCollector): a page that another process still maps
     * (pagemap's exclusive bit clear: a forked relative's, or one swapped out) must not go that way; nor a
     * page of a mapping without read access, which only /proc/PID/mem may read (EFAULT: tried again so).
     */
    private static void copy(int pid, Fd mem, Fd pagemap, MemorySegment entries, long addr, MemorySegment into) {
        long pages = into.byteSize() / Page.SIZE;
        long got = Io.pread(pagemap.fd(), entries.asSlice(0, pages * 8), addr / Page.SIZE * 8);
        if (got != pages * 8) {
            throw new PagesGoneException(String.format("cannot read the pagemap of pid %d at 0x%x", pid, addr));
        }
        for (long i = 0; i < pages; ) {
            boolean alone = (entries.getAtIndex(ValueLayout.JAVA_LONG, i) & PM_MMAP_EXCLUSIVE) != 0;
            long j = i + 1;
            while (j < pages && ((entries.getAtIndex(ValueLayout.JAVA_LONG, j) & PM_MMAP_EXCLUSIVE) != 0) == alone) {
                j++;
            }
            MemorySegment to = into.asSlice(i * Page.SIZE, (j - i) * Page.SIZE);
            long from = addr + i * Page.SIZE;
            if (!alone || !readAlone(pid, from, to)) {
                pread(mem, from, to);
            }
            i = j;
        }
    }

    private static boolean readAlone(int pid, long from, MemorySegment to) {
        try {
            ProcessVm.readFully(pid, from, to);
            return true;
        } catch (ErrnoException e) {
            if (e.is(dev.cryo.syscalls.Errno.EFAULT)) {
                return false;
            }
            throw e;
        }
    }

    private static void pread(Fd mem, long from, MemorySegment to) {
        for (long done = 0; done < to.byteSize(); ) {
            long n = Io.pread(mem.fd(), to.asSlice(done), from + done);
            if (n <= 0) {
                throw new PagesGoneException(String.format("cannot read pages at 0x%x: the mapping is gone", from + done));
            }
            done += n;
        }
    }

    /** Runs {@code step} on the writer thread unless a step failed before; then closes {@code sink}'s sink, if given. */
    private void submit(Runnable step, PageSink[] sink) {
        writer.execute(() -> {
            long t0 = System.nanoTime();
            try {
                if (failure == null) {
                    step.run();
                }
            } catch (Throwable t) {
                failure = t;
            } finally {
                if (sink != null && sink[0] != null) {
                    try {
                        sink[0].close();
                    } catch (Throwable t) {
                        if (failure == null) {
                            failure = t;
                        }
                    }
                    sink[0] = null;
                }
                writeNanos += System.nanoTime() - t0;
            }
        });
    }

    /**
     * Waits until every page read is written, and throws the writer's failure if it had one. Returns the time
     * that the writer spent writing.
     */
    long finish(Runnable checkpoint) throws Exception {
        finished = true;
        writer.shutdown();
        while (!writer.awaitTermination(100, TimeUnit.MILLISECONDS)) {
            checkpoint.run();
        }
        Throwable f = failure;
        if (f instanceof Exception e) {
            throw e;
        }
        if (f instanceof Error e) {
            throw e;
        }
        return writeNanos;
    }

    private void stopTouching() {
        stopTouching = true;
        boolean interrupted = false;
        while (toucher.isAlive()) {
            try {
                toucher.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the writer, what it had not written dropped (the dump failed), and waits until it has: before the
     * dump's page destination closes, which would leave it writing to closed descriptors.
     */
    void stop() {
        stopTouching();
        if (!finished) {
            failure = new IllegalStateException("the dump ended before its pages were written");
            finished = true;
        }
        writer.shutdown();
        boolean interrupted = false;
        while (!writer.isTerminated()) {
            try {
                writer.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops the writer ({@link #stop}) and keeps the memory as the spare for the next dump of this JVM, or frees it.
     */
    @Override
    public void close() {
        stop();
        // Kept even where touching was dear and the pages went the usual way: a JVM that dumps again (a service)
        // then holds, and the copy into this memory touches the rest of it once for all the dumps after.
        putBack(memory);
    }
}
