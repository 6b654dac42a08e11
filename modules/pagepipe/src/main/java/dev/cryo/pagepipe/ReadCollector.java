package dev.cryo.pagepipe;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;

import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;

/**
 * Read mode: copies pages into pooled buffers, while a writer thread hands full buffers to the consumer, so
 * that reading and writing overlap. Pages are read with pread on {@code /proc/PID/mem}, not
 * {@code process_vm_readv}: the latter pins the pages it reads (FOLL_PIN), and the kernel unshares a
 * copy-on-write anonymous page before pinning it, so a dump with process_vm_readv gives a forked child its
 * own copy of every page it still shared with its parent (seen here: a 256 MiB child's second dump found no
 * page shared any more). /proc/PID/mem reads as fast here (4.6 GB/s for 1 GiB), leaves the sharing as it
 * was, and reads PROT_NONE ranges too, which the kernel lets a tracer force.
 */
public final class ReadCollector {
    /** Ranges in one batch at most, so that a scattered address space still fills a buffer per batch. */
    private static final int RANGES_MAX = 1024;

    private final BufferPool pool;

    public ReadCollector(BufferPool pool) {
        this.pool = pool;
    }

    /**
     * What a collection did.
     *
     * @param vanished pages that were unmapped under a lenient copy and were written as zeros
     */
    public record Result(long pages, long bytes, long vanished) {}

    /**
     * Copies every page of {@code ranges} of process {@code pid} to {@code consumer}, in order.
     * {@code checkpoint} runs between batches and may throw to abandon the work.
     */
    public Result collect(int pid, List<PageRange> ranges, PageConsumer consumer, Runnable checkpoint) throws Exception {
        return collect(pid, ranges, consumer, checkpoint, false);
    }

    /**
     * As {@link #collect(int, List, PageConsumer, Runnable)}; with {@code lenient}, the task may run during the
     * copy (read-mode pre-dump), and pages unmapped under it are written as zeros instead of failing. That is
     * safe for a pre-dump: a range unmapped or moved since the task was frozen is a new, untracked mapping at
     * the next step, which writes it whole, so no later step refers to those zeros.
     */
    public Result collect(int pid, List<PageRange> ranges, PageConsumer consumer, Runnable checkpoint, boolean lenient)
            throws Exception {
        BlockingQueue<PageBatch> full = new ArrayBlockingQueue<>(64);
        AtomicReference<Throwable> writerFailure = new AtomicReference<>();
        PageBatch end = new PageBatch(pid, List.of(), MemorySegment.NULL);
        Thread writer = Thread.ofPlatform().name("cryo-pages-" + pid).start(() -> {
            try {
                while (true) {
                    PageBatch b = full.take();
                    if (b == end) {
                        return;
                    }
                    try {
                        if (writerFailure.get() == null) {
                            consumer.accept(b);
                        }
                    } catch (Throwable t) {
                        writerFailure.compareAndSet(null, t);
                    } finally {
                        pool.give(b.data());
                    }
                }
            } catch (InterruptedException e) {
                writerFailure.compareAndSet(null, e);
            }
        });
        long pages = 0;
        long vanished = 0;
        Throwable readFailure = null;
        try (Fd mem = Io.open("/proc/" + pid + "/mem", Kernel.O_RDONLY)) {
            int i = 0;
            long offsetInRange = 0;
            while (i < ranges.size()) {
                checkpoint.run();
                if (writerFailure.get() != null) {
                    break;
                }
                MemorySegment buf = pool.take();
                List<PageRange> batch = new ArrayList<>();
                long filled = 0;
                while (i < ranges.size() && filled < buf.byteSize() && batch.size() < RANGES_MAX) {
                    PageRange r = ranges.get(i);
                    long take = Math.min(r.bytes() - offsetInRange, buf.byteSize() - filled);
                    long start = r.start() + offsetInRange;
                    batch.add(new PageRange(start, take / Page.SIZE));
                    filled += take;
                    offsetInRange += take;
                    if (offsetInRange == r.bytes()) {
                        i++;
                        offsetInRange = 0;
                    }
                }
                vanished += read(mem, batch, buf, lenient);
                pages += filled / Page.SIZE;
                full.put(new PageBatch(pid, List.copyOf(batch), buf.asSlice(0, filled)));
            }
        } catch (Throwable t) {
            readFailure = t;
        } finally {
            full.put(end);
            writer.join();
        }
        // Both sides may fail (a read error, then the writer's own): the first is thrown, the other kept with it.
        Throwable failure = readFailure != null ? readFailure : writerFailure.get();
        if (failure != null) {
            if (readFailure != null && writerFailure.get() != null && writerFailure.get() != readFailure) {
                readFailure.addSuppressed(writerFailure.get());
            }
            throw rethrow(failure);
        }
        return new Result(pages, pages * Page.SIZE, vanished);
    }

    /**
     * Reads the batch through /proc/PID/mem, its ranges back to back into {@code buf}; returns, when lenient,
     * the pages found unmapped (zero-filled).
     */
    private static long read(Fd mem, List<PageRange> batch, MemorySegment buf, boolean lenient) {
        long at = 0;
        long vanished = 0;
        for (PageRange r : batch) {
            long done = 0;
            while (done < r.bytes()) {
                long n;
                try {
                    n = Io.pread(mem.fd(), buf.asSlice(at + done, r.bytes() - done), r.start() + done);
                } catch (ErrnoException e) {
                    if (!lenient || e.is(dev.cryo.syscalls.Errno.ESRCH)) {
                        throw e;
                    }
                    n = 0; // EIO: nothing mapped there any more
                }
                if (n <= 0) {
                    if (!lenient) {
                        throw new PagesGoneException(String.format("cannot read pages at 0x%x: the mapping is gone", r.start() + done));
                    }
                    // unmapped under the copy: zeros for this page, then try the next one
                    buf.asSlice(at + done, Page.SIZE).fill((byte) 0);
                    vanished++;
                    n = Page.SIZE;
                }
                done += n;
            }
            at += r.bytes();
        }
        return vanished;
    }

    private static Exception rethrow(Throwable t) {
        if (t instanceof Exception e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new RuntimeException(t);
    }
}
