package dev.cryo.pagexfer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.PagemapFlags;
import dev.cryo.images.Pagemaps;
import dev.cryo.images.RawReader;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Page;

/**
 * Where the bytes of one pagemap's pages are (a process's private memory, or a shared memory object's
 * contents at their offsets), through a chain of snapshots: a pagemap entry flagged {@code PE_PARENT} is
 * looked up in the {@code parent} snapshot's pagemap ({@link ImageStore#parent}), and so on down the chain,
 * until a snapshot that holds the bytes in its pages image. Every page a restore reads comes from here.
 *
 * <pre>{@code
 * try (PageSource src = PageSource.open(store, pid)) {
 *     for (PageSource.Extent x : src.extents()) {
 *         write(x.vaddr(), src.bytes(x));      // x.pages() pages, mapped from the image that holds them
 *     }
 * }
 * }</pre>
 */
public final class PageSource implements AutoCloseable {

    /**
     * {@code pages} pages at {@code vaddr}, stored at {@code offset} of image {@code pagesImage} of snapshot
     * {@code depth} (0 = the last); or, for pages a lazy dump left on its side ({@code PE_LAZY}), in no image
     * ({@code pagesImage} null, {@code offset} -1): the dump serves them to a lazy-pages daemon.
     */
    public record Extent(long vaddr, long pages, int depth, String pagesImage, long offset) {
        public long bytes() {
            return pages * Page.SIZE;
        }

        /** Left on the dump's side: no image holds the bytes. */
        public boolean lazy() {
            return pagesImage == null;
        }

        public long end() {
            return vaddr + pages * Page.SIZE;
        }
    }

    /** One pagemap entry of one snapshot, with its offset in that snapshot's pages image (-1: in the parent, or lazy). */
    private record Entry(long vaddr, long pages, boolean inParent, boolean lazy, long offset) {
        long end() {
            return vaddr + pages * Page.SIZE;
        }
    }

    private record Level(ImageStore store, String where, String pagesImage, List<Entry> entries) {}

    private final String image;
    private final List<Level> chain = new ArrayList<>();
    private final Arena arena = Arena.ofShared();
    private final Map<Integer, MemorySegment> mapped = new HashMap<>();
    /** Memory holding what was read of images that are not files; unmapped on close. */
    private final List<Mapping> mappings = new ArrayList<>();
    /** The snapshots whose pages image is mapped from its file ({@link #done} releases from those only). */
    private final java.util.Set<Integer> files = new java.util.HashSet<>();
    /** Bytes of released extents of one image, not yet given back: [pendingStart, pendingEnd) of pendingDepth. */
    private int pendingDepth = -1;
    private long pendingStart;
    private long pendingEnd;
    private static final long RELEASE_BATCH = 8L << 20;
    /** {@link #extents()}, once computed. */
    private List<Extent> resolved;

    private PageSource(String image) {
        this.image = image;
    }

    /** The pages of process {@code pid} as the last snapshot in {@code store} records them. */
    public static PageSource open(ImageStore store, int pid) {
        return open(store, PagemapType.PROCESS, pid);
    }

    /** The pages of pagemap {@code id} of {@code type} as the last snapshot in {@code store} records them. */
    public static PageSource open(ImageStore store, PagemapType type, long id) {
        PageSource s = new PageSource(type.fileName(id));
        try {
            s.chainFrom(store, type, id);
            if (s.chain.isEmpty()) {
                throw new IllegalStateException(type.fileName(id) + " is missing from " + store);
            }
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * The pages of process {@code pid} from its pagemap's {@code entries}, read already from {@code store} (a
     * restore has them), into pages image {@code pagesImage}; the parent snapshots' pagemaps are read here.
     */
    public static PageSource open(ImageStore store, int pid, String pagesImage, List<PagemapEntry> entries) {
        PagemapType type = PagemapType.PROCESS;
        PageSource s = new PageSource(type.fileName(pid));
        try {
            s.chain.add(level(store, type.fileName(pid), pagesImage, entries));
            ImageStore parent = store.parent().orElse(null);
            if (parent != null) {
                s.chainFrom(parent, type, pid);
            }
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** Adds the levels of the chain from {@code store} down, as far as each snapshot has the pagemap. */
    private void chainFrom(ImageStore store, PagemapType type, long id) {
        ImageStore at = store;
        while (at != null) {
            Level level = load(at, type, id);
            if (level == null) {
                break;
            }
            chain.add(level);
            at = at.parent().orElse(null);
        }
    }

    private static Level load(ImageStore store, PagemapType type, long id) {
        String name = type.fileName(id);
        if (!store.exists(name)) {
            return null;
        }
        try (EntryReader r = store.openReader(type.image(), id)) {
            PagemapHead head = r.next(PagemapHead.parser());
            if (head == null) {
                throw new IllegalStateException(name + " of " + store + " has no head");
            }
            return level(store, name, ImageKind.PAGES.fileName(Integer.toUnsignedLong(head.getPagesId())),
                    r.readAll(PagemapEntry.parser()));
        }
    }

    /** One snapshot's pagemap, {@code name} in {@code store}, from its entries. */
    private static Level level(ImageStore store, String name, String pagesImage, List<PagemapEntry> pagemap) {
        List<Entry> entries = new ArrayList<>(pagemap.size());
        long offset = 0;
        for (PagemapEntry e : pagemap) {
            int flags = e.hasFlags() ? e.getFlags() : PagemapFlags.PE_PRESENT;
            boolean inParent = e.getInParent() || (flags & PagemapFlags.PE_PARENT) != 0;
            boolean present = (flags & PagemapFlags.PE_PRESENT) != 0;
            boolean lazy = !inParent && !present && (flags & PagemapFlags.PE_LAZY) != 0;
            if (!inParent && !present && !lazy) {
                throw new IllegalStateException(String.format("%s of %s: pages at 0x%x have flags %d (neither in the image,"
                        + " nor in the parent, nor lazy)", name, store, e.getVaddr(), flags));
            }
            if (!entries.isEmpty() && entries.getLast().end() > e.getVaddr()) {
                throw new IllegalStateException(String.format("%s of %s: entries out of order at 0x%x", name, store, e.getVaddr()));
            }
            long n = Pagemaps.pages(e);
            entries.add(new Entry(e.getVaddr(), n, inParent, lazy, inParent || lazy ? -1 : offset));
            if (!inParent && !lazy) {
                offset += n * Page.SIZE;
            }
        }
        return new Level(store, store.toString(), pagesImage, entries);
    }

    /** How many snapshots the chain has for this process (1 = no parent holds its pages). */
    public int depth() {
        return chain.size();
    }

    /**
     * Every page the last snapshot records, in address order, each resolved to the snapshot that holds it;
     * resolved once, however many times asked (a restore checks the chain, then fills from it).
     */
    public List<Extent> extents() {
        if (resolved == null) {
            List<Extent> out = new ArrayList<>();
            for (Entry e : chain.getFirst().entries()) {
                resolve(0, e.vaddr(), e.end(), out);
            }
            resolved = java.util.Collections.unmodifiableList(out);
        }
        return resolved;
    }

    /** Where the bytes of [start, end) are, as the snapshot {@code depth} down the chain records them. */
    public List<Extent> resolve(long start, long end) {
        List<Extent> out = new ArrayList<>();
        resolve(0, start, end, out);
        return out;
    }

    private void resolve(int depth, long start, long end, List<Extent> out) {
        if (depth >= chain.size()) {
            throw new IllegalStateException(String.format("pages 0x%x-0x%x of %s are marked in-parent, but %s has no parent with them",
                    start, end, image, chain.get(depth - 1).where()));
        }
        Level level = chain.get(depth);
        List<Entry> es = level.entries();
        int i = firstEndingAfter(es, start);
        long at = start;
        while (at < end) {
            Entry e = i < es.size() ? es.get(i) : null;
            if (e == null || e.vaddr() > at) {
                throw new IllegalStateException(String.format("%s of %s has no pages at 0x%x (needed by a later snapshot)",
                        image, level.where(), at));
            }
            long pieceEnd = Math.min(end, e.end());
            if (e.inParent()) {
                resolve(depth + 1, at, pieceEnd, out);
            } else if (e.lazy()) {
                add(out, new Extent(at, (pieceEnd - at) / Page.SIZE, depth, null, -1));
            } else {
                add(out, new Extent(at, (pieceEnd - at) / Page.SIZE, depth, level.pagesImage(), e.offset() + (at - e.vaddr())));
            }
            at = pieceEnd;
            i++;
        }
    }

    private static void add(List<Extent> out, Extent x) {
        if (!out.isEmpty()) {
            Extent last = out.getLast();
            boolean joins = x.lazy() ? last.lazy() : !last.lazy() && last.offset() + last.bytes() == x.offset();
            if (last.depth() == x.depth() && last.vaddr() + last.bytes() == x.vaddr() && joins) {
                out.set(out.size() - 1, new Extent(last.vaddr(), last.pages() + x.pages(), last.depth(), last.pagesImage(), last.offset()));
                return;
            }
        }
        out.add(x);
    }

    private static int firstEndingAfter(List<Entry> es, long addr) {
        return Runs.firstEndingAfter(es, 0, addr, Entry::end);
    }

    /**
     * The bytes of {@code x}: a read-only slice of its pages image, mapped once per snapshot (the image cache's
     * memory of it, handed over; of other images that are not files, the bytes that the extents need are read
     * into memory). Valid until this source is closed.
     */
    public MemorySegment bytes(Extent x) {
        return bytes(x, 0, x.bytes());
    }

    /**
     * {@code n} bytes of {@code x} from byte {@code from} of it, as {@link #bytes(Extent)}: of a pages image that
     * the image cache handed over while it arrives, once the whole image is there ({@link ImageStore#awaitBytes}),
     * not only those bytes. Filling a tree's memory beside the cache's receive made both dearer than one after the
     * other (two writers of new memory at once on the two cores measured: the cache's copy into its memfd took
     * 2.7-3.4 s of CPU per GiB beside the fill, 1.4 s without; docs/benchmarks.md), and the restore builds the
     * tree meanwhile all the same.
     */
    public MemorySegment bytes(Extent x, long from, long n) {
        if (x.lazy()) {
            throw new IllegalStateException(String.format("pages 0x%x-0x%x of %s were left on the side of the dump (--lazy-pages):"
                    + " no image holds them", x.vaddr(), x.end(), image));
        }
        MemorySegment all = mapped.computeIfAbsent(x.depth(), this::map);
        if (x.offset() + x.bytes() > all.byteSize()) {
            throw new IllegalStateException(String.format("%s of %s is truncated at offset %d (expected %d more bytes)",
                    x.pagesImage(), chain.get(x.depth()).where(), all.byteSize(), x.offset() + x.bytes() - all.byteSize()));
        }
        if (from < 0 || n < 0 || from + n > x.bytes()) {
            throw new IndexOutOfBoundsException("bytes " + from + "+" + n + " of an extent of " + x.bytes());
        }
        Level level = chain.get(x.depth());
        level.store().awaitBytes(level.pagesImage(), all.byteSize());
        return all.asSlice(x.offset() + from, n);
    }

    /**
     * The bytes of {@code x} were used and will not be read again: the pages of the image mapped for them leave
     * this process's resident set (they stay in the page cache), so that a restore's memory does not grow with
     * the images it reads. Neighbouring extents are released together, a few megabytes at a time.
     */
    public void done(Extent x) {
        done(x, 0, x.bytes());
    }

    /** As {@link #done(Extent)}, for {@code length} bytes of {@code x} from byte {@code from} of it. */
    public void done(Extent x, long from, long length) {
        if (x.lazy() || !files.contains(x.depth())) {
            return; // of an image that is not a file, the bytes were read into memory of this source's own
        }
        MemorySegment all = mapped.get(x.depth());
        if (all == null) {
            return;
        }
        long at = x.offset() + from;
        if (pendingDepth == x.depth() && pendingEnd == at) {
            pendingEnd += length;
        } else {
            flush();
            pendingDepth = x.depth();
            pendingStart = at;
            pendingEnd = at + length;
        }
        if (pendingEnd - pendingStart >= RELEASE_BATCH) {
            flush();
        }
    }

    private void flush() {
        MemorySegment all = pendingDepth < 0 ? null : mapped.get(pendingDepth);
        if (all != null && pendingEnd <= all.byteSize()) {
            Mapping.dontNeed(all.asSlice(pendingStart, pendingEnd - pendingStart));
        }
        pendingDepth = -1;
    }

    /** Copies the bytes of {@code x} into {@code dst}. */
    public void read(Extent x, MemorySegment dst) {
        dst.copyFrom(bytes(x));
    }

    /**
     * Copies {@code dst.byteSize()} bytes of {@code x}, from byte {@code from} of it, into {@code dst}, reading them
     * from the image where it is not a file and not mapped yet: for the few extents a lazy restore writes of the
     * many it has. Mapping an image of the image cache first works out every extent's range in it (10,500 of a 2 GiB
     * tree after pre-copy), and beyond 16,384 ranges the cache cannot map it: all the bytes were then read.
     */
    public void readFew(Extent x, long from, MemorySegment dst) {
        if (x.lazy()) {
            bytes(x); // says why not
        }
        Level level = chain.get(x.depth());
        if (mapped.containsKey(x.depth()) || level.store().pathOf(level.pagesImage()).isPresent()) {
            dst.copyFrom(bytes(x).asSlice(from, dst.byteSize()));
            return;
        }
        level.store().awaitBytes(level.pagesImage(), x.offset() + from + dst.byteSize());
        try (RawReader r = level.store().openRawReader(level.pagesImage())) {
            r.readFully(dst, x.offset() + from);
        }
    }

    private MemorySegment map(int depth) {
        Level level = chain.get(depth);
        Optional<Path> file = level.store().pathOf(level.pagesImage());
        if (file.isPresent()) {
            try (FileChannel ch = FileChannel.open(file.get(), StandardOpenOption.READ)) {
                long size = ch.size();
                files.add(depth);
                return size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file.get() + ": " + e.getMessage(), e);
            }
        }
        // The image cache hands over its memory of the image where it can (a memfd, mapped as a file is): the
        // ranges that the extents need are checked there, none may have been released by deduplication.
        Optional<MemorySegment> inPlace = level.store().mapForReading(level.pagesImage(), needed(depth), arena);
        if (inPlace.isPresent()) {
            return inPlace.get();
        }
        // A store without files (a snapshot in the image cache, memory): only the bytes that some extent needs
        // are read, in offset order, into memory that is otherwise left untouched; the reader skips the rest
        // (the image cache drops the pages that a later snapshot of the chain holds, and never sends them).
        try (RawReader r = level.store().openRawReader(level.pagesImage())) {
            long size = r.size();
            if (size == 0) {
                return MemorySegment.NULL;
            }
            Mapping m = Mapping.anonymous((size + Page.SIZE - 1) & -Page.SIZE);
            mappings.add(m);
            MemorySegment data = m.segment().asSlice(0, size);
            for (long[] range : needed(depth)) {
                long end = Math.min(range[1], size); // past the end: bytes() says the image is truncated
                if (end > range[0]) {
                    r.readFully(data.asSlice(range[0], end - range[0]), range[0]);
                }
            }
            return data;
        }
    }

    /** The byte ranges [from, to) of snapshot {@code depth}'s pages image that the extents use, in order, merged. */
    private List<long[]> needed(int depth) {
        List<long[]> ranges = new ArrayList<>();
        for (Extent x : extents()) {
            if (x.depth() == depth && !x.lazy()) { // a lazy extent is in no pages image (offset -1)
                ranges.add(new long[] {x.offset(), x.offset() + x.bytes()});
            }
        }
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> merged = new ArrayList<>();
        for (long[] r : ranges) {
            if (!merged.isEmpty() && merged.getLast()[1] >= r[0]) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], r[1]);
            } else {
                merged.add(r);
            }
        }
        return merged;
    }

    /**
     * The ranges, as [vaddr, vaddr + pages), whose bytes the last snapshot in {@code store} has for
     * {@code pid} (itself or through its parents): what a next snapshot may mark in-parent. Empty when the
     * store has no pagemap for the process.
     */
    public static List<long[]> coverage(ImageStore store, int pid) {
        return coverage(store, PagemapType.PROCESS, pid);
    }

    /** {@link #coverage(ImageStore, int)} of any pagemap. */
    public static List<long[]> coverage(ImageStore store, PagemapType type, long id) {
        Level level = load(store, type, id);
        List<long[]> out = new ArrayList<>();
        if (level != null) {
            for (Entry e : level.entries()) {
                if (e.lazy()) {
                    continue; // on the dump's side, not in any snapshot
                }
                if (!out.isEmpty() && out.getLast()[1] == e.vaddr()) {
                    out.getLast()[1] = e.end();
                } else {
                    out.add(new long[] {e.vaddr(), e.end()});
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        mapped.clear(); // unmapped with the arena: nothing pending to release
        pendingDepth = -1;
        mappings.forEach(Mapping::close);
        mappings.clear();
        arena.close();
    }
}
