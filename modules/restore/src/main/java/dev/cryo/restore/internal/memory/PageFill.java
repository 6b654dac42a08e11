package dev.cryo.restore.internal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.Inheritance;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.Runs;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;

/** The pages of a restored task, written into its mappings from the page source (the images, through the snapshot chain). */
final class PageFill {
    /** asm-generic/mman-common.h; a private anonymous page dropped this way reads as zeroes, or faults to a userfaultfd. */

    private PageFill() {}

    /**
     * Copies the private pages of a process, {@code src}, into the task, in pagemap order; returns how many.
     * Inside {@code kept} mappings (inherited from the restored parent, whose pages are {@code parentSrc}, and
     * whose memory there is exactly its own pages image) a page is written only where it differs from the
     * parent's image page, so that pages the child still shared with its parent stay shared, and the comparison
     * is memory to memory.
     * In a lazy restore ({@code lazy} not null) only the pages it says are written; the rest are the daemon's,
     * and where the child holds its parent's page over a lazy one of its own, the parent's page goes.
     */
    static long privatePages(Puppet p, PageSource src, List<VmaEntry> kept, PageSource parentSrc, LazyProcess lazy) {
        // PageSource resolves PE_PARENT runs through the snapshot chain (pre-dumps) to the image holding them.
        PageIndex inParent = kept.isEmpty() ? null : new PageIndex(parentSrc);
        List<PageSource.Extent> xs = src.extents();
        long pages = 0;
        if (lazy != null && lazy.writesOnlyEager()) {
            // Only the runs that meet what is not lazy are looked at, found by binary search: after pre-copy a
            // process has thousands of runs per GiB (what it wrote meanwhile), all of them the daemon's.
            int next = 0;
            for (long[] r : lazy.notLazy()) {
                int i = Math.max(next, Runs.firstEndingAfter(xs, 0, r[0], PageSource.Extent::end));
                for (; i < xs.size() && xs.get(i).vaddr() < r[1]; i++) {
                    pages += fillFew(p, src, xs.get(i), lazy);
                }
                next = i;
            }
            lazy.registerWhereAny(xs);
            return pages;
        }
        for (PageSource.Extent x : xs) {
            pages += fill(p, src, x, kept, inParent, lazy);
        }
        return pages;
    }

    /**
     * {@link #fill} for a process that holds none of its parent's pages: the parts of {@code x} to write are read
     * from the image as they are (a few pages each), without mapping it; returns how many pages.
     */
    private static long fillFew(Puppet p, PageSource src, PageSource.Extent x, LazyProcess lazy) {
        List<long[]> parts = lazy.toWrite(x);
        if (parts.isEmpty()) {
            return 0;
        }
        long pages = 0;
        try (Arena arena = Arena.ofConfined()) {
            long longest = parts.stream().mapToLong(r -> r[1] - r[0]).max().orElseThrow();
            MemorySegment buffer = arena.allocate(Math.min(longest, WRITE_CHUNK), Page.SIZE);
            for (long[] part : parts) {
                for (long at = part[0]; at < part[1]; at += buffer.byteSize()) {
                    MemorySegment data = buffer.asSlice(0, Math.min(buffer.byteSize(), part[1] - at));
                    src.readFew(x, at - x.vaddr(), data);
                    p.write(at, data);
                }
                lazy.wrote(part[0], part[1]);
                pages += (part[1] - part[0]) / Page.SIZE;
            }
        }
        return pages;
    }

    /** Writes what of extent {@code x} is the restore's to write; returns how many pages. */
    private static long fill(Puppet p, PageSource src, PageSource.Extent x, List<VmaEntry> kept, PageIndex inParent,
                             LazyProcess lazy) {
        if (lazy != null) {
            for (long[] d : lazy.toDrop(x)) {
                p.syscall("madvise(0x" + Long.toHexString(d[0]) + ", MADV_DONTNEED)", Kernel.__NR_madvise, d[0], d[1] - d[0],
                        Kernel.MADV_DONTNEED);
            }
        }
        List<long[]> parts = lazy == null ? List.of(new long[] {x.vaddr(), x.end()}) : lazy.toWrite(x);
        if (parts.isEmpty()) {
            return 0;
        }
        long pages = 0;
        boolean releasedAsWritten = true;
        for (long[] part : parts) {
            // Where the child holds its parent's page (kept mappings; in a lazy restore only where the
            // parent had filled it before the clone) only what differs is written.
            List<long[]> shared = lazy != null ? lazy.inheritedPart(part[0], part[1]) : keptPart(kept, part[0], part[1]);
            for (long[] piece : pieces(part[0], part[1], shared)) {
                if (piece[2] == 0) {
                    writeReleasing(p, src, x, piece[0], piece[1] - piece[0]);
                } else {
                    writeDiffering(p, piece[0], src.bytes(x, piece[0] - x.vaddr(), piece[1] - piece[0]), inParent);
                    releasedAsWritten = false;
                }
            }
            if (lazy != null) {
                lazy.wrote(part[0], part[1]);
            }
            pages += (part[1] - part[0]) / Page.SIZE;
        }
        if (!releasedAsWritten || parts.size() != 1 || parts.getFirst()[0] != x.vaddr() || parts.getFirst()[1] != x.end()) {
            src.done(x);
        }
        return pages;
    }

    /** Bytes written at a time: the image's pages read for them leave cryo's resident set after each. */
    private static final long WRITE_CHUNK = 8L << 20;

    /**
     * Writes {@code length} bytes at {@code addr} of extent {@code x}, a chunk at a time, each chunk's pages of the
     * image released once written: an extent may be a whole tree's memory (pagemap runs span neighbouring
     * mappings). Of a pages image that still arrives from the image cache, each chunk is written once it is there.
     */
    private static void writeReleasing(Puppet p, PageSource src, PageSource.Extent x, long addr, long length) {
        for (long done = 0; done < length; done += WRITE_CHUNK) {
            long n = Math.min(WRITE_CHUNK, length - done);
            p.write(addr + done, src.bytes(x, addr + done - x.vaddr(), n));
            src.done(x, addr + done - x.vaddr(), n);
        }
    }

    /** The parts of [start, end) inside the {@code kept} mappings, in address order. */
    private static List<long[]> keptPart(List<VmaEntry> kept, long start, long end) {
        List<long[]> out = new ArrayList<>();
        for (VmaEntry v : kept) {
            long lo = Math.max(start, v.getStart());
            long hi = Math.min(end, v.getEnd());
            if (lo < hi) {
                out.add(new long[] {lo, hi});
            }
        }
        out.sort(Comparator.comparingLong(r -> r[0]));
        return out;
    }

    /** [start, end) cut at the edges of {@code marked} (sorted, inside it): {from, to, 1 if marked else 0}. */
    private static List<long[]> pieces(long start, long end, List<long[]> marked) {
        List<long[]> out = new ArrayList<>();
        long at = start;
        for (long[] m : marked) {
            if (m[0] > at) {
                out.add(new long[] {at, m[0], 0});
            }
            out.add(new long[] {m[0], m[1], 1});
            at = m[1];
        }
        if (at < end) {
            out.add(new long[] {at, end, 0});
        }
        return out;
    }

    /** Where each page of a process lies in the images (through the snapshot chain). */
    private static final class PageIndex {
        private final PageSource src;
        private final List<PageSource.Extent> extents;

        PageIndex(PageSource src) {
            this.src = src;
            this.extents = src.extents();
        }

        /** The image's page at {@code vaddr}, or null where the process had none (pagemap is in address order). */
        MemorySegment page(long vaddr) {
            int lo = 0;
            int hi = extents.size() - 1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                PageSource.Extent x = extents.get(mid);
                if (vaddr < x.vaddr()) {
                    hi = mid - 1;
                } else if (vaddr >= x.vaddr() + x.bytes()) {
                    lo = mid + 1;
                } else {
                    return src.bytes(x).asSlice(vaddr - x.vaddr(), Page.SIZE);
                }
            }
            return null;
        }
    }

    /** Writes the runs of pages of {@code want} that differ from the parent's image pages at {@code addr}. */
    private static void writeDiffering(Puppet p, long addr, MemorySegment want, PageIndex parent) {
        long n = want.byteSize() / Page.SIZE;
        long run = -1;
        for (long i = 0; i <= n; i++) {
            boolean differs = false;
            if (i < n) {
                MemorySegment mine = want.asSlice(i * Page.SIZE, Page.SIZE);
                MemorySegment theirs = parent.page(addr + i * Page.SIZE);
                differs = theirs == null || mine.mismatch(theirs) >= 0;
            }
            if (differs && run < 0) {
                run = i;
            } else if (!differs && run >= 0) {
                p.write(addr + run * Page.SIZE, want.asSlice(run * Page.SIZE, (i - run) * Page.SIZE));
                run = -1;
            }
        }
    }

    /**
     * Fills the shared anonymous mappings this task created (not those it inherited: they share the object
     * already; nor SysV segments, filled with their namespace) from the object's pages ({@code pagemap-shmem-SHMID.img}, runs at offsets in the object), read
     * through a {@link PageSource} as every page is. Each object is filled once for the whole tree
     * ({@code filled}). Returns the pages written.
     */
    static long shared(Puppet p, ImageStore store, MmEntry mm, List<VmaEntry> kept, Set<Long> filled) {
        long pages = 0;
        for (VmaEntry v : mm.getVmasList()) {
            if (!Inheritance.isAnonShared(v) || SysvAttachments.isSysv(v) || kept.stream().anyMatch(k -> k.getStart() == v.getStart() && k.getEnd() == v.getEnd())
                    || !filled.add(v.getShmid())
                    || !store.exists(ImageKind.PAGEMAP_SHMEM.fileName(v.getShmid()))) {
                continue;
            }
            long objectStart = v.getPgoff();
            long objectEnd = objectStart + (v.getEnd() - v.getStart());
            try (PageSource src = PageSource.open(store, PagemapType.SHARED, v.getShmid())) {
                for (PageSource.Extent x : src.extents()) {
                    long from = Math.max(x.vaddr(), objectStart);
                    long to = Math.min(x.vaddr() + x.bytes(), objectEnd);
                    if (from < to) {
                        p.write(v.getStart() + (from - objectStart), src.bytes(x).asSlice(from - x.vaddr(), to - from));
                        pages += (to - from) / Page.SIZE;
                    }
                }
            }
        }
        return pages;
    }
}
