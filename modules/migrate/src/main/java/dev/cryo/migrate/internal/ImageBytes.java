package dev.cryo.migrate.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Memfd;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Syscall;

/**
 * The bytes of one image held by a daemon, in anonymous mappings of its own: received straight into them,
 * sent straight from them, never through the Java heap. Chunks grow from 64 KiB to 4 MiB, so a small image
 * costs a page and a large one few mappings. Ranges can be released (the cache's deduplication): their pages
 * go back to the kernel ({@code MADV_DONTNEED}, a chunk wholly released is unmapped), and a read that touches
 * them is refused, never answered with zeros. One thread writes it; once complete, any number read it
 * ({@link #forEachSlice}, while their sends run) and releasing or closing waits for them: memory is never
 * unmapped under a send.
 *
 * <p>A pages image in the cache lives in a memfd instead ({@link #inMemfd}), the chunks being shared mappings of
 * it at their offsets: a restore is handed the memfd itself ({@link #readOnlyFile}) and maps it as it maps a
 * local pages file, nothing copied. Released ranges are then holes punched in the file; a restore is handed
 * it only for ranges that none touches ({@code LocalSession}), and only once nothing can be released any more.
 */
final class ImageBytes implements AutoCloseable {
    private static final long FIRST = 64 << 10;
    private static final long LARGEST = 4 << 20;

    private final List<Mapping> chunks = new ArrayList<>();
    private final List<Long> starts = new ArrayList<>();
    /**
     * Released ranges, from → to, disjoint and not touching: a lookup or an addition costs a logarithm, since
     * deduplication may release every other page of a large image, one at a time.
     */
    private final TreeMap<Long, Long> released = new TreeMap<>();
    private long size;
    private long releasedBytes;
    private long capacity;
    /** The file's size (it may run ahead of the chunks: {@link #reserve}). */
    private long fileSize;
    private boolean closed;
    private final java.util.concurrent.locks.ReentrantReadWriteLock lock = new java.util.concurrent.locks.ReentrantReadWriteLock();
    /** The file that holds the bytes, or null: anonymous memory. */
    private final Fd file;
    /** What counts the bytes held in files, with {@link #file}. */
    private final HeldInFiles counted;

    /** Bytes in anonymous memory. */
    ImageBytes() {
        this.file = null;
        this.counted = null;
    }

    private ImageBytes(Fd file, HeldInFiles counted) {
        this.file = file;
        this.counted = counted;
    }

    /**
     * Bytes in a memfd named {@code name} (for /proc's eyes): a reader may be handed the file. What it holds
     * is counted in {@code counted}.
     */
    static ImageBytes inMemfd(String name, HeldInFiles counted) {
        Fd f = Memfd.create("cryo-image:" + name, Kernel.MFD_CLOEXEC | Kernel.MFD_ALLOW_SEALING);
        try {
            Memfd.addSeals(f, Kernel.F_SEAL_SHRINK); // it grows by chunks; a reader's mapping can never lose its file under it
            return new ImageBytes(f, counted);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    /**
     * A read-only file of these bytes (of {@link #size} bytes and more: the file grows by chunks), for a reader
     * that checked its ranges against {@link #touchesReleased}; null when they are not in a file, or gone.
     */
    Fd readOnlyFile() {
        lock.readLock().lock();
        try {
            return file == null || closed ? null : Memfd.reopenReadOnly(file);
        } finally {
            lock.readLock().unlock();
        }
    }

    long size() {
        return size;
    }

    /**
     * The file is made {@code bytes} long at once (rounded up to a page; its pages are allocated only as they
     * are written): a reader handed it while the bytes arrive maps it whole. Nothing for anonymous memory.
     */
    void reserve(long bytes) {
        long length = (bytes + Page.SIZE - 1) & -Page.SIZE;
        if (file != null && length > fileSize) {
            Memfd.truncate(file, length);
            fileSize = length;
        }
    }

    /** The bytes whose memory is still held (what deduplication has not released). */
    long heldBytes() {
        return size - releasedBytes;
    }

    /** Room for at most {@code max} more bytes at the end, in one chunk (a new one when the last is full). */
    MemorySegment tail(long max) {
        if (size == capacity) {
            long next = Math.min(LARGEST, chunks.isEmpty() ? FIRST : Math.max(FIRST, chunks.getLast().length() * 2));
            if (file == null) {
                chunks.add(Mapping.anonymous(next));
            } else {
                if (capacity + next > fileSize) {
                    Memfd.truncate(file, capacity + next);
                    fileSize = capacity + next;
                }
                chunks.add(Mapping.map(0, next, Kernel.PROT_READ | Kernel.PROT_WRITE, Kernel.MAP_SHARED, file.fd(), capacity));
            }
            starts.add(capacity);
            capacity += next;
        }
        Mapping last = chunks.getLast();
        long at = size - starts.getLast();
        return last.segment().asSlice(at, Math.min(max, last.length() - at));
    }

    /** Whether the bytes are in a file, which {@link #appendFromPipe} can write into. */
    boolean inFile() {
        return file != null;
    }

    /**
     * Moves the {@code n} bytes waiting in {@code pipe} (its read end) into the file as the {@link #tail}'s bytes
     * from {@code into} on (within what that tail had room for), by splice(2): the kernel copies them into the
     * file's pages, which it allocates as it writes, where a receive through the chunk's mapping would fault
     * each page in (zeroed first) one at a time. Once the tail is filled, the caller says {@link #appended}.
     */
    void appendFromPipe(Fd pipe, long into, long n) {
        Io.lseek(file.fd(), size + into, Kernel.SEEK_SET);
        for (long done = 0; done < n; ) {
            long m = Io.splice(pipe.fd(), file.fd(), n - done, Kernel.SPLICE_F_MOVE);
            if (m == 0) {
                throw new IllegalStateException("splice: the pipe held " + (n - done) + " bytes fewer than it was given");
            }
            done += m;
        }
    }

    /** {@code n} bytes of the {@link #tail} were filled. */
    void appended(long n) {
        if (size + n > capacity) {
            throw new IllegalStateException("appended past the end of the chunk");
        }
        size += n;
        if (counted != null) {
            counted.add(n);
        }
    }

    /** Whether some byte of [from, to) was released. */
    boolean touchesReleased(long from, long to) {
        // ranges are disjoint: the last one that starts before to ends last among those
        Map.Entry<Long, Long> r = released.lowerEntry(to);
        return r != null && r.getValue() > from;
    }

    /**
     * Runs {@code first}, then hands [from, from + length) to {@code each} as slices of the chunks, in order,
     * holding off releases meanwhile; false, and nothing run, when part of the range was released (or all of
     * it dropped).
     */
    boolean forEachSlice(long from, long length, Runnable first, Consumer<MemorySegment> each) {
        lock.readLock().lock();
        try {
            if (closed || touchesReleased(from, from + length)) {
                return false;
            }
            first.run();
            slices(from, length, each);
            return true;
        } finally {
            lock.readLock().unlock();
        }
    }

    private void slices(long from, long length, Consumer<MemorySegment> each) {
        if (from < 0 || length < 0 || from + length > size) {
            throw new IllegalArgumentException("bytes " + from + "+" + length + " of an image of " + size);
        }
        long at = from;
        long end = from + length;
        while (at < end) {
            int i = chunkAt(at);
            long offset = at - starts.get(i);
            long n = Math.min(end - at, chunks.get(i).length() - offset);
            each.accept(chunks.get(i).segment().asSlice(offset, n));
            at += n;
        }
    }

    /** Copies [from, from + dst.byteSize()) into {@code dst}; false when part of it was released. */
    boolean copyTo(long from, MemorySegment dst) {
        long[] done = {0};
        return forEachSlice(from, dst.byteSize(), () -> { }, s -> {
            MemorySegment.copy(s, 0, dst, done[0], s.byteSize());
            done[0] += s.byteSize();
        });
    }

    /** Gives the whole pages inside [from, to) back to the kernel; later reads of the range are refused. */
    void release(long from, long to) {
        lock.writeLock().lock();
        try {
            long held = heldBytes();
            releaseLocked(from, to);
            if (counted != null) {
                counted.add(heldBytes() - held);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void releaseLocked(long from, long to) {
        to = Math.min(to, size);
        if (from >= to) {
            return;
        }
        long first = (from + Page.SIZE - 1) & -Page.SIZE;
        long last = to & -Page.SIZE;
        if (file != null && last > first && !closed) {
            Memfd.punchHole(file, first, last - first); // frees the pages, in the chunks' mappings too
        }
        for (long at = first; file == null && at < last; ) {
            int i = chunkAt(at);
            long chunkEnd = starts.get(i) + chunks.get(i).length();
            long n = Math.min(last, chunkEnd) - at;
            Mapping m = chunks.get(i);
            if (m.segment().scope().isAlive()) {
                Syscall.call("madvise(MADV_DONTNEED)", Kernel.__NR_madvise, m.address() + (at - starts.get(i)), n, Kernel.MADV_DONTNEED);
            }
            at += n;
        }
        addReleased(from, to);
        // chunks now wholly released go back whole: only those that this range reaches can have become so
        for (int i = chunkAt(from); i < chunks.size() && starts.get(i) < to; i++) {
            long s = starts.get(i);
            long e = Math.min(s + chunks.get(i).length(), size);
            if (e > s && covered(s, e) && chunks.get(i).segment().scope().isAlive() && e == s + chunks.get(i).length()) {
                chunks.get(i).close();
            }
        }
    }

    private void addReleased(long from, long to) {
        Map.Entry<Long, Long> left = released.floorEntry(from);
        if (left != null && left.getValue() >= from) {
            from = left.getKey();
            to = Math.max(to, left.getValue());
            forget(left);
        }
        for (Map.Entry<Long, Long> r = released.ceilingEntry(from); r != null && r.getKey() <= to; r = released.ceilingEntry(from)) {
            to = Math.max(to, r.getValue());
            forget(r);
        }
        released.put(from, to);
        releasedBytes += to - from;
    }

    private void forget(Map.Entry<Long, Long> r) {
        released.remove(r.getKey());
        releasedBytes -= r.getValue() - r.getKey();
    }

    private boolean covered(long from, long to) {
        Map.Entry<Long, Long> r = released.floorEntry(from);
        return r != null && to <= r.getValue();
    }

    private int chunkAt(long offset) {
        int lo = 0;
        int hi = starts.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts.get(mid) <= offset) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (counted != null && !closed) {
                counted.add(-heldBytes());
            }
            closed = true;
            chunks.forEach(Mapping::close);
            chunks.clear();
            if (file != null) {
                file.close();
            }
            starts.clear();
            released.clear();
            size = 0;
            releasedBytes = 0;
            capacity = 0;
        } finally {
            lock.writeLock().unlock();
        }
    }
}
