package dev.cryo.restore.internal.memory;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;

import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.Inheritance;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.parasite.Parasite;
import dev.cryo.restore.internal.Puppet;

/** The pages of a restored task, written into its mappings from the page source (the images, through the snapshot chain). */
final class PageFill {
    private PageFill() {}

    /**
     * Copies the private pages of process {@code pid} into the task, in pagemap order; returns how many.
     * Inside {@code kept} mappings (inherited from the restored parent {@code parentPid}, whose memory there is
     * exactly its own pages image) a page is written only where it differs from the parent's image page, so
     * that pages the child still shared with its parent stay shared, and the comparison is memory to memory.
     */
    static long privatePages(Puppet p, ImageStore store, int pid, List<VmaEntry> kept, int parentPid) {
        long pages = 0;
        // PageSource resolves PE_PARENT runs through the snapshot chain (pre-dumps) to the image holding them.
        try (PageSource src = PageSource.open(store, pid);
             PageSource parentSrc = kept.isEmpty() ? null : PageSource.open(store, parentPid)) {
            PageIndex inParent = kept.isEmpty() ? null : new PageIndex(parentSrc);
            for (PageSource.Extent x : src.extents()) {
                MemorySegment data = src.bytes(x);
                long at = x.vaddr();
                long end = at + x.bytes();
                while (at < end) {
                    long from = at;
                    VmaEntry in = kept.stream().filter(v -> from >= v.getStart() && from < v.getEnd()).findFirst().orElse(null);
                    long to = in != null ? Math.min(end, in.getEnd())
                            : Math.min(end, kept.stream().mapToLong(VmaEntry::getStart).filter(s -> s > from).min().orElse(end));
                    MemorySegment want = data.asSlice(at - x.vaddr(), to - at);
                    if (in == null) {
                        p.write(at, want);
                    } else {
                        writeDiffering(p, at, want, inParent);
                    }
                    at = to;
                }
                pages += x.pages();
            }
        }
        return pages;
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
                    return src.bytes(x).asSlice(vaddr - x.vaddr(), Parasite.PAGE);
                }
            }
            return null;
        }
    }

    /** Writes the runs of pages of {@code want} that differ from the parent's image pages at {@code addr}. */
    private static void writeDiffering(Puppet p, long addr, MemorySegment want, PageIndex parent) {
        long n = want.byteSize() / Parasite.PAGE;
        long run = -1;
        for (long i = 0; i <= n; i++) {
            boolean differs = false;
            if (i < n) {
                MemorySegment mine = want.asSlice(i * Parasite.PAGE, Parasite.PAGE);
                MemorySegment theirs = parent.page(addr + i * Parasite.PAGE);
                differs = theirs == null || mine.mismatch(theirs) >= 0;
            }
            if (differs && run < 0) {
                run = i;
            } else if (!differs && run >= 0) {
                p.write(addr + run * Parasite.PAGE, want.asSlice(run * Parasite.PAGE, (i - run) * Parasite.PAGE));
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
                        pages += (to - from) / Parasite.PAGE;
                    }
                }
            }
        }
        return pages;
    }
}
