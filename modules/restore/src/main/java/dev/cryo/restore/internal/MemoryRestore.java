package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.prctl_mm_map;
import dev.cryo.images.ImageStore;
import dev.cryo.images.Inheritance;
import dev.cryo.images.ImageKind;
import dev.cryo.images.VmaStatus;
import dev.cryo.parasite.Scratch;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.Proc;

/**
 * Builds a task's address space inside a puppet: the stub's mappings go, the dumped ones are mapped at
 * their addresses, filled from the pages image, protected, and the vDSO group moves to where it was.
 */
final class MemoryRestore {
    private static final long TASK_TOP = 0x7ffffffff000L;
    private static final long SEARCH_FROM = 0x100000;
    /** asm-generic/mman-common.h; a private anonymous page dropped this way reads as zeroes. */
    private static final int MADV_DONTNEED = 4;

    private MemoryRestore() {}

    /** One line of /proc/PID/maps. */
    record Mapping(long start, long end, String name) {
        long size() {
            return end - start;
        }

        boolean isVdsoGroup() {
            return name.equals("[vdso]") || name.equals("[vvar]") || name.equals("[vvar_vclock]");
        }
    }

    static List<Mapping> maps(int pid) {
        List<Mapping> out = new ArrayList<>();
        for (String line : Proc.read(pid, "maps").split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\\s+", 6);
            int dash = f[0].indexOf('-');
            out.add(new Mapping(Long.parseUnsignedLong(f[0].substring(0, dash), 16),
                    Long.parseUnsignedLong(f[0].substring(dash + 1), 16), f.length > 5 ? f[5].trim() : ""));
        }
        return out;
    }

    /** The span of the puppet's vDSO group, from its first piece to the end of its last. */
    static long vdsoSpan(List<Mapping> puppet) {
        List<Mapping> g = puppet.stream().filter(Mapping::isVdsoGroup).toList();
        return g.isEmpty() ? 0 : g.getLast().end() - g.getFirst().start();
    }

    /**
     * An address for {@code size} bytes that neither the dumped task nor the puppet uses: the trampoline
     * (and the vDSO's waiting room after it) must survive every unmap and map of the restore.
     */
    static long freeArea(List<VmaEntry> dumped, List<Mapping> puppet, long size) {
        List<long[]> used = new ArrayList<>();
        dumped.forEach(v -> used.add(new long[] {v.getStart(), v.getEnd()}));
        puppet.forEach(m -> used.add(new long[] {m.start(), m.end()}));
        used.sort(Comparator.comparingLong(a -> a[0]));
        long at = SEARCH_FROM;
        for (long[] u : used) {
            if (at + size <= u[0]) {
                return at;
            }
            at = Math.max(at, u[1]);
        }
        if (at + size <= TASK_TOP) {
            return at;
        }
        throw new RestoreError("no free address range of " + size + " bytes for the restorer's trampoline");
    }

    /** Moves the puppet's vDSO group to {@code to}, keeping its layout. */
    static void parkVdso(Puppet p, List<Mapping> puppet, long to) {
        List<Mapping> g = puppet.stream().filter(Mapping::isVdsoGroup).toList();
        if (g.isEmpty()) {
            return;
        }
        long base = g.getFirst().start();
        for (Mapping m : g) {
            remap(p, m.start(), m.size(), to + (m.start() - base));
        }
    }

    private static void remap(Puppet p, long from, long size, long to) {
        if (from == to) {
            return;
        }
        p.syscall("mremap(0x" + Long.toHexString(from) + " -> 0x" + Long.toHexString(to) + ")", Linux.__NR_mremap(),
                from, size, size, Linux.MREMAP_MAYMOVE() | Linux.MREMAP_FIXED(), to);
    }

    /** Unmaps every mapping of the puppet but the trampoline and the parked vDSO group. */
    static void clearPuppet(Puppet p, long keepFrom, long keepTo) {
        clearPuppet(p, keepFrom, keepTo, List.of());
    }

    /** Unmaps everything of the puppet but the trampoline, the parked vDSO group and the {@code kept} ranges. */
    static void clearPuppet(Puppet p, long keepFrom, long keepTo, List<VmaEntry> kept) {
        List<long[]> keep = new ArrayList<>();
        keep.add(new long[] {keepFrom, keepTo});
        kept.forEach(v -> keep.add(new long[] {v.getStart(), v.getEnd()}));
        keep.sort(Comparator.comparingLong(k -> k[0]));
        for (Mapping m : maps(p.pid())) {
            if (m.name().equals("[vsyscall]")) {
                continue;
            }
            long at = m.start();
            for (long[] k : keep) {
                if (k[1] <= at || k[0] >= m.end()) {
                    continue;
                }
                if (k[0] > at) {
                    p.syscall("munmap(" + m.name() + ")", Linux.__NR_munmap(), at, k[0] - at);
                }
                at = Math.max(at, k[1]);
            }
            if (at < m.end()) {
                p.syscall("munmap(" + m.name() + ")", Linux.__NR_munmap(), at, m.end() - at);
            }
        }
    }

    /**
     * The child's anonymous mappings that its restored parent has at the same place with the same flags
     * (and, for a shared one, the same shared memory object at dump): the child inherited them at clone,
     * private pages shared copy-on-write and shared ones shared outright, and keeps them.
     */
    static List<VmaEntry> inheritable(MmEntry child, MmEntry parent) {
        return Inheritance.inherited(child, parent);
    }

    private static boolean isAnonPrivate(VmaEntry v) {
        return Inheritance.isAnonPrivate(v);
    }

    static boolean isAnonShared(VmaEntry v) {
        return Inheritance.isAnonShared(v);
    }

    /**
     * Readies the kept (inherited) private mappings for the child's own pages: writable until protect().
     */
    static void prepareKept(Puppet p, List<VmaEntry> kept) {
        for (VmaEntry v : kept) {
            if (isAnonShared(v)) {
                continue; // the parent's: same pages, nothing of the child's own to fill
            }
            // Writable until protect(). A page the child's pagemap lacks here is the parent's (see Inheritance):
            // the inherited one stays; the dump wrote the child a zero page where it had none and the parent had.
            p.syscall("mprotect(0x" + Long.toHexString(v.getStart()) + ")", Linux.__NR_mprotect(),
                    v.getStart(), v.getEnd() - v.getStart(), v.getProt() | Linux.PROT_WRITE());
        }
    }

    /** Opens, inside the task, the memfd that a mapping names (its file id) with the mapping's open flags. */
    @FunctionalInterface
    interface MemfdOpener {
        int open(int fileId, int flags);
    }

    /**
     * Maps every dumped VMA but the vDSO group, writable until its pages are in. A file is opened by its
     * path; a memfd, which has none, is opened from the restore's own memfd ({@code memfds}).
     */
    static void mapVmas(Puppet p, MmEntry mm, Map<Integer, String> paths, List<VmaEntry> kept, MemfdOpener memfds) {
        for (VmaEntry v : mm.getVmasList()) {
            int status = v.getStatus();
            if (kept.contains(v)) {
                continue;
            }
            if ((status & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR | VmaStatus.VMA_AREA_VSYSCALL)) != 0) {
                continue;
            }
            if ((status & VmaStatus.VMA_AREA_REGULAR) == 0) {
                throw new RestoreError("mapping 0x" + Long.toHexString(v.getStart()) + " has status 0x"
                        + Integer.toHexString(status) + ", which restore does not handle yet");
            }
            long len = v.getEnd() - v.getStart();
            int prot = v.getProt() | Linux.PROT_WRITE();
            int flags = (v.getFlags() & (Linux.MAP_SHARED() | Linux.MAP_PRIVATE() | Linux.MAP_ANONYMOUS()
                    | Linux.MAP_NORESERVE() | Linux.MAP_GROWSDOWN())) | Linux.MAP_FIXED();
            if ((status & (VmaStatus.VMA_FILE_PRIVATE | VmaStatus.VMA_FILE_SHARED)) != 0) {
                boolean memfd = (status & VmaStatus.VMA_AREA_MEMFD) != 0;
                String path = memfd ? "memfd file " + v.getShmid() : paths.get((int) v.getShmid());
                if (path == null) {
                    throw new RestoreError("mapping 0x" + Long.toHexString(v.getStart()) + " names file id "
                            + v.getShmid() + ", which files.img does not hold");
                }
                boolean shared = (status & VmaStatus.VMA_FILE_SHARED) != 0;
                if (shared) {
                    prot = v.getProt(); // a shared file mapping has no private pages to fill
                }
                int fdflags = v.hasFdflags() ? v.getFdflags() : Linux.O_RDONLY();
                int fd = memfd ? memfds.open((int) v.getShmid(), fdflags) : openInTask(p, path, fdflags);
                try {
                    p.syscall("mmap(" + path + ")", Linux.__NR_mmap(), v.getStart(), len, prot, flags & ~Linux.MAP_ANONYMOUS(), fd, v.getPgoff());
                } finally {
                    p.syscall("close", Linux.__NR_close(), fd);
                }
            } else {
                p.syscall("mmap(anonymous 0x" + Long.toHexString(v.getStart()) + ")", Linux.__NR_mmap(),
                        v.getStart(), len, prot, flags | Linux.MAP_ANONYMOUS(), -1, 0);
            }
        }
    }

    /** Opens {@code path} inside the task (the path goes through scratch memory); returns the task's fd. */
    static int openInTask(Puppet p, String path, int flags) {
        return p.open(path, flags | Linux.O_CLOEXEC(), 0);
    }

    /**
     * Copies the private pages from the pages image into the task, in pagemap order; returns how many.
     * Inside {@code kept} mappings (inherited from the restored parent, whose memory there is exactly its
     * own pages image) a page is written only where it differs from the parent's image page, so that
     * pages the child still shared with its parent stay shared, and the comparison is memory to memory.
     * In a lazy restore ({@code lazy} not null) only the pages it says are written; the rest are the daemon's.
     */
    static long fillPages(Puppet p, ImageStore store, TreeImages.ProcessImages img, List<VmaEntry> kept,
                          TreeImages.ProcessImages parent, LazyProcess lazy) {
        long pages = 0;
        // PageSource resolves PE_PARENT runs through the snapshot chain (pre-dumps) to the image holding them.
        try (PageSource src = PageSource.open(store, img.pid());
             PageSource parentSrc = kept.isEmpty() ? null : PageSource.open(store, parent.pid())) {
            PageIndex inParent = kept.isEmpty() ? null : new PageIndex(parentSrc);
            for (PageSource.Extent x : src.extents()) {
                if (lazy != null) {
                    for (long[] d : lazy.toDrop(x)) {
                        p.syscall("madvise(0x" + Long.toHexString(d[0]) + ", MADV_DONTNEED)", Linux.__NR_madvise(), d[0], d[1] - d[0], MADV_DONTNEED);
                    }
                }
                List<long[]> parts = lazy == null ? List.of(new long[] {x.vaddr(), x.end()}) : lazy.toWrite(x);
                if (parts.isEmpty()) {
                    continue;
                }
                MemorySegment data = src.bytes(x);
                for (long[] part : parts) {
                    long at = part[0];
                    long end = part[1];
                    // Where the child holds its parent's page (kept mappings; in a lazy restore only where the
                    // parent had filled it before the clone) only what differs is written.
                    List<long[]> shared = lazy != null ? lazy.inheritedPart(at, end) : keptPart(kept, at, end);
                    for (long[] piece : pieces(at, end, shared)) {
                        MemorySegment want = data.asSlice(piece[0] - x.vaddr(), piece[1] - piece[0]);
                        if (piece[2] == 0) {
                            p.write(piece[0], want);
                        } else {
                            writeDiffering(p, piece[0], want, inParent);
                        }
                    }
                    if (lazy != null) {
                        lazy.wrote(part[0], part[1]);
                    }
                    pages += (part[1] - part[0]) / Puppet.PAGE;
                }
            }
        }
        return pages;
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
                    return src.bytes(x).asSlice(vaddr - x.vaddr(), Puppet.PAGE);
                }
            }
            return null;
        }
    }

    /** Writes the runs of pages of {@code want} that differ from the parent's image pages at {@code addr}. */
    private static void writeDiffering(Puppet p, long addr, MemorySegment want, PageIndex parent) {
        long n = want.byteSize() / Puppet.PAGE;
        long run = -1;
        for (long i = 0; i <= n; i++) {
            boolean differs = false;
            if (i < n) {
                MemorySegment mine = want.asSlice(i * Puppet.PAGE, Puppet.PAGE);
                MemorySegment theirs = parent.page(addr + i * Puppet.PAGE);
                differs = theirs == null || mine.mismatch(theirs) >= 0;
            }
            if (differs && run < 0) {
                run = i;
            } else if (!differs && run >= 0) {
                p.write(addr + run * Puppet.PAGE, want.asSlice(run * Puppet.PAGE, (i - run) * Puppet.PAGE));
                run = -1;
            }
        }
    }

    /** Gives every mapping its dumped protection (they were writable while being filled). */
    static void protect(Puppet p, MmEntry mm) {
        for (VmaEntry v : mm.getVmasList()) {
            if ((v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR)) != 0) {
                continue;
            }
            p.syscall("mprotect(0x" + Long.toHexString(v.getStart()) + ")", Linux.__NR_mprotect(),
                    v.getStart(), v.getEnd() - v.getStart(), v.getProt());
        }
    }

    /**
     * Fills the shared anonymous mappings this task created (not those it inherited: they share the object
     * already) from the object's pages ({@code pagemap-shmem-SHMID.img}, runs at offsets in the object), read
     * through a {@link PageSource} as every page is. Each object is filled once for the whole tree. Returns the
     * pages written.
     */
    static long fillShared(Puppet p, ImageStore store, MmEntry mm, List<VmaEntry> kept, java.util.Set<Long> filled) {
        long pages = 0;
        for (VmaEntry v : mm.getVmasList()) {
            if (!isAnonShared(v) || kept.stream().anyMatch(k -> k.getStart() == v.getStart() && k.getEnd() == v.getEnd())
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
                        pages += (to - from) / Puppet.PAGE;
                    }
                }
            }
        }
        return pages;
    }

    /**
     * mlock()s again what was locked at dump (MAP_LOCKED in the entry, VM_LOCKED in the kernel), once its
     * pages are in: the puppet may lock any amount (CAP_IPC_LOCK), and the lock outlives the credentials the
     * task gets later, as it did in the original.
     */
    static void lock(Puppet p, MmEntry mm) {
        for (VmaEntry v : mm.getVmasList()) {
            if ((v.getFlags() & Linux.MAP_LOCKED()) != 0) {
                p.syscall("mlock(0x" + Long.toHexString(v.getStart()) + ")", Linux.__NR_mlock(), v.getStart(), v.getEnd() - v.getStart());
            }
        }
    }

    /** Gives every mapping the madvise() advice it had at dump (huge pages, don't fork, ...): bit n is advice n. */
    static void advise(Puppet p, MmEntry mm) {
        for (VmaEntry v : mm.getVmasList()) {
            if ((v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR)) != 0) {
                continue; // the kernel's own mappings carry their advice already
            }
            long madv = v.getMadv();
            for (int advice = 0; madv != 0 && advice < 64; advice++) {
                if ((madv & (1L << advice)) != 0) {
                    p.syscall("madvise(0x" + Long.toHexString(v.getStart()) + ", " + advice + ")", Linux.__NR_madvise(),
                            v.getStart(), v.getEnd() - v.getStart(), advice);
                    madv &= ~(1L << advice);
                }
            }
        }
    }

    /** Moves the parked vDSO group to the dumped addresses; its pieces must match the dump's. */
    static void placeVdso(Puppet p, MmEntry mm, List<Mapping> puppet, long parkedAt) {
        List<Mapping> g = puppet.stream().filter(Mapping::isVdsoGroup).toList();
        List<VmaEntry> dumped = mm.getVmasList().stream()
                .filter(v -> (v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR)) != 0).toList();
        if (dumped.isEmpty()) {
            return;
        }
        boolean same = g.size() == dumped.size();
        for (int i = 0; same && i < g.size(); i++) {
            same = g.get(i).size() == dumped.get(i).getEnd() - dumped.get(i).getStart()
                    && g.get(i).start() - g.getFirst().start() == dumped.get(i).getStart() - dumped.getFirst().getStart();
        }
        if (!same) {
            throw new RestoreError("this kernel's vDSO/vvar layout " + describe(g)
                    + " differs from the dump's; restore on the kernel the dump was made on");
        }
        long base = g.getFirst().start();
        for (int i = 0; i < g.size(); i++) {
            remap(p, parkedAt + (g.get(i).start() - base), g.get(i).size(), dumped.get(i).getStart());
        }
    }

    private static String describe(List<Mapping> g) {
        return g.stream().map(m -> m.name() + " " + m.size() / Puppet.PAGE + "p").toList().toString();
    }

    /** prctl(PR_SET_MM, PR_SET_MM_MAP): code/data/brk/stack/args/env bounds, auxv, and the executable. */
    static void setMmMap(Puppet p, MmEntry mm, String exe) {
        // A child cloned from its restored parent has the executable already; the kernel refuses (EBUSY) to
        // replace an exe_file that is still mapped, even by itself, so it is left as it is.
        boolean same = exe.equals(dev.cryo.syscalls.Io.readlink("/proc/" + p.pid() + "/exe"));
        int exeFd = same ? -1 : openInTask(p, exe, Linux.O_RDONLY());
        try (Arena a = Arena.ofConfined(); Scratch s = p.scratch()) {
            MemorySegment auxv = a.allocate(ValueLayout.JAVA_LONG, Math.max(1, mm.getMmSavedAuxvCount()));
            for (int i = 0; i < mm.getMmSavedAuxvCount(); i++) {
                auxv.setAtIndex(ValueLayout.JAVA_LONG, i, mm.getMmSavedAuxv(i));
            }
            long auxvAt = s.put(auxv);
            MemorySegment m = prctl_mm_map.allocate(a);
            prctl_mm_map.start_code(m, mm.getMmStartCode());
            prctl_mm_map.end_code(m, mm.getMmEndCode());
            prctl_mm_map.start_data(m, mm.getMmStartData());
            prctl_mm_map.end_data(m, mm.getMmEndData());
            prctl_mm_map.start_brk(m, mm.getMmStartBrk());
            prctl_mm_map.brk(m, mm.getMmBrk());
            prctl_mm_map.start_stack(m, mm.getMmStartStack());
            prctl_mm_map.arg_start(m, mm.getMmArgStart());
            prctl_mm_map.arg_end(m, mm.getMmArgEnd());
            prctl_mm_map.env_start(m, mm.getMmEnvStart());
            prctl_mm_map.env_end(m, mm.getMmEnvEnd());
            prctl_mm_map.auxv(m, MemorySegment.ofAddress(auxvAt));
            prctl_mm_map.auxv_size(m, mm.getMmSavedAuxvCount() * 8);
            prctl_mm_map.exe_fd(m, exeFd);
            p.syscall("prctl(PR_SET_MM_MAP)", Linux.__NR_prctl(), Linux.PR_SET_MM(), Linux.PR_SET_MM_MAP(),
                    s.put(m), prctl_mm_map.sizeof(), 0);
        } finally {
            if (exeFd >= 0) {
                p.syscall("close", Linux.__NR_close(), exeFd);
            }
        }
    }
}
