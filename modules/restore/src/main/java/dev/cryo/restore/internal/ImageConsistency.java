package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.Inheritance;
import dev.cryo.images.Pagemaps;
import dev.cryo.images.ImageStore;
import dev.cryo.images.PagemapFlags;
import dev.cryo.images.RawReader;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.SkPacketEntry;
import dev.cryo.images.proto.TaskKobjIdsEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.LazyMemory;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.restore.internal.TreeImages.ProcessImages;
import dev.cryo.restore.internal.TreeImages.Zombie;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;

/**
 * The images of a dump checked against each other before a restore starts anything. Each image can be well
 * formed on its own and still disagree with the others: a core that is another task's, an fd or a cwd whose
 * file files.img lacks, pipe data for no pipe, pages that the pages image does not hold. Restored, such a
 * dump would fail half-way, or worse run: with cryo's own cwd, an empty pipe, another task's registers. Every
 * refusal is one line naming the image and the entry. This is the one place for such checks; the restore
 * steps after it trust what it checked.
 */
final class ImageConsistency {
    /** CRTOOLS_IMAGES_V1_1: the version CRIU and cryo write. */
    static final int IMG_VERSION = 2;
    private static final long PAGE = Puppet.PAGE;
    /** RLIMIT_STACK when the core has none: the kernel's default, 8 MiB. */
    private static final long DEFAULT_STACK = 8L << 20;
    /** A pagemap run longer than this (2^36 pages: 256 TiB) is damage, not memory. */
    private static final long MAX_RUN = 1L << 36;

    private final ImageStore store;
    private final TreeImages tree;
    private final Map<Integer, FileEntry> files = new HashMap<>();
    /** Shared memory objects checked already (several tasks may map one). */
    private final Set<Long> sharedChecked = new HashSet<>();
    /** Every pid and tid of pstree.img. */
    private final Set<Integer> ids;

    /** The restore leaves lazy memory to a lazy-pages daemon: pages a lazy dump kept on its side may be named. */
    private final boolean lazy;
    /** Where each process's pages are, resolved through the chain: the restore fills from the same. */
    private final PageSources pages;
    /** Whether the checks that read the pages' bytes run now (else later: {@link #checkThreadWords}). */
    private final boolean wordsNow;

    private ImageConsistency(ImageStore store, TreeImages tree, boolean lazy, PageSources pages, boolean wordsNow) {
        this.store = store;
        this.pages = pages;
        this.tree = tree;
        this.ids = Set.copyOf(tree.ids());
        this.lazy = lazy;
        this.wordsNow = wordsNow;
    }

    /**
     * Throws a {@link RestoreError} naming the image and the entry at the first disagreement, for a restore that is
     * lazy ({@code lazy}) or not, which fills the memory from {@code pages} (resolved here where the check needs it).
     */
    static void check(ImageStore store, TreeImages tree, boolean lazy, PageSources pages) {
        new ImageConsistency(store, tree, lazy, pages, true).run();
    }

    /**
     * {@link #check(ImageStore, TreeImages, boolean, PageSources)} but for what needs the bytes of the pages images
     * (the word at each thread's clear_tid address): a restore from the image cache starts while the pages travel,
     * and checks those with {@link #checkThreadWords} once they are there, before any task runs.
     */
    static void checkAllButPages(ImageStore store, TreeImages tree, boolean lazy, PageSources pages) {
        new ImageConsistency(store, tree, lazy, pages, false).run();
    }

    /** The checks that {@link #checkAllButPages} left: each thread's clear_tid word. */
    static void checkThreadWords(ImageStore store, TreeImages tree) {
        ImageConsistency c = new ImageConsistency(store, tree, false, null, true);
        for (ProcessImages p : tree.processes()) {
            c.threadWords(p);
        }
    }

    private void run() {
        inventory();
        readFiles();
        for (ProcessImages p : tree.processes()) {
            mappings(p);
            pages(p);
            threads(p);
            fs(p);
            fds(p);
        }
        for (Zombie z : tree.zombies()) {
            zombie(z);
        }
        coreOwners();
        noStrayCores();
        fileEntries();
        pipeData(ImageKind.PIPES_DATA, FdTypes.PIPE);
        pipeData(ImageKind.FIFO_DATA, FdTypes.FIFO);
        socketQueues();
    }

    private static RestoreError fail(String message) {
        return new RestoreError(message);
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** inventory.img: the version cryo reads. */
    private void inventory() {
        InventoryEntry inv = tree.inventory();
        if (inv.getImgVersion() != IMG_VERSION) {
            throw fail("inventory.img: img_version " + Integer.toUnsignedString(inv.getImgVersion()) + " ("
                    + hex(Integer.toUnsignedLong(inv.getImgVersion())) + "); cryo restores version " + IMG_VERSION
                    + " (CRTOOLS_IMAGES_V1_1) images");
        }
    }

    /** files.img by id, each file with the part its type needs. */
    private void readFiles() {
        if (!store.exists(ImageKind.FILES.fileName())) {
            return;
        }
        try (EntryReader r = store.openReader(ImageKind.FILES)) {
            for (FileEntry f; (f = r.next(FileEntry.parser())) != null; ) {
                if (files.put(f.getId(), f) != null) {
                    throw fail("files.img: file id " + Integer.toUnsignedString(f.getId()) + " is listed twice");
                }
                boolean complete = switch (f.getType()) {
                    case REG -> f.hasReg();
                    case PIPE -> f.hasPipe();
                    case FIFO -> f.hasFifo();
                    case UNIXSK -> f.hasUsk();
                    case EVENTFD -> f.hasEfd();
                    case MEMFD -> f.hasMemfd();
                    default -> true; // a type that cryo cannot restore says so when an fd needs it
                };
                if (!complete) {
                    throw fail("files.img: file id " + Integer.toUnsignedString(f.getId()) + " is of type " + f.getType()
                            + " but has no " + f.getType().toString().toLowerCase() + " entry");
                }
            }
        }
    }

    private String describe(int id) {
        FileEntry f = files.get(id);
        return f == null ? "no file of files.img" : "a " + f.getType() + " file";
    }

    /** mm-PID.img: mappings in order, page-aligned, their files and shared memory there; the executable a file. */
    private void mappings(ProcessImages p) {
        String mm = ImageKind.MM.fileName(p.pid());
        long previousEnd = 0;
        for (VmaEntry v : p.mm().getVmasList()) {
            if (v.getEnd() <= v.getStart() || (v.getStart() & (PAGE - 1)) != 0 || (v.getEnd() & (PAGE - 1)) != 0) {
                throw fail(mm + ": mapping " + hex(v.getStart()) + "-" + hex(v.getEnd()) + " is not a page-aligned range");
            }
            if (Long.compareUnsigned(v.getStart(), previousEnd) < 0) {
                throw fail(mm + ": mapping " + hex(v.getStart()) + "-" + hex(v.getEnd()) + " overlaps or precedes the one before it,"
                        + " which ends at " + hex(previousEnd));
            }
            previousEnd = v.getEnd();
            boolean file = (v.getStatus() & (VmaStatus.VMA_FILE_PRIVATE | VmaStatus.VMA_FILE_SHARED)) != 0;
            boolean memfd = (v.getStatus() & VmaStatus.VMA_AREA_MEMFD) != 0;
            int id = (int) v.getShmid();
            if (file && (memfd ? !isType(id, FdTypes.MEMFD) : !isType(id, FdTypes.REG))) {
                throw fail(mm + ": mapping " + hex(v.getStart()) + " names file id " + v.getShmid() + ", which is "
                        + describe(id) + ", not " + (memfd ? "a memfd" : "a regular file"));
            }
            if (Inheritance.isAnonShared(v) && (v.getStatus() & VmaStatus.VMA_AREA_SYSVIPC) == 0) {
                sharedMemory(p, v); // a SysV segment's contents are with its IPC namespace (IpcNamespaceRestore checks them)
            }
        }
        if (!isType(p.mm().getExeFileId(), FdTypes.REG)) {
            throw fail(mm + ": exe_file_id " + Integer.toUnsignedString(p.mm().getExeFileId()) + " is "
                    + describe(p.mm().getExeFileId()) + ", not the executable's path");
        }
    }

    private boolean isType(int id, FdTypes type) {
        FileEntry f = files.get(id);
        return f != null && f.getType() == type;
    }

    /** A shared anonymous mapping's object: its pagemap-shmem image, and the pages that one promises. */
    private void sharedMemory(ProcessImages p, VmaEntry v) {
        if (!sharedChecked.add(v.getShmid())) {
            return;
        }
        String pagemap = ImageKind.PAGEMAP_SHMEM.fileName(v.getShmid());
        if (!store.exists(pagemap)) {
            throw fail(pagemap + " is missing (mapping " + hex(v.getStart()) + " of mm-" + p.pid() + ".img shares that memory)");
        }
        try (EntryReader r = store.openReader(ImageKind.PAGEMAP_SHMEM, v.getShmid())) {
            PagemapHead head = r.next(PagemapHead.parser());
            if (head == null) {
                throw fail(pagemap + " has no pagemap head");
            }
            long needed = 0;
            for (PagemapEntry e; (e = r.next(PagemapEntry.parser())) != null; ) {
                needed += Pagemaps.pages(e) * PAGE;
            }
            pagesHold(store, "", ImageKind.PAGES.fileName(head.getPagesId()), pagemap, needed);
        }
    }

    /** {@code pages} of {@code in} holds at least {@code needed} bytes, as {@code pagemap} promises; {@code where} names {@code in}. */
    private static void pagesHold(ImageStore in, String where, String pages, String pagemap, long needed) {
        if (!in.exists(pages)) {
            throw fail(pages + where + " is missing (" + pagemap + " points into it)");
        }
        long size = in.size(pages); // from the image cache: as announced, its bytes may still be travelling
        if (needed > size) {
            throw fail(pages + where + " is truncated at offset " + size + " (" + pagemap + " needs " + needed + " bytes)");
        }
    }

    /**
     * Each thread of pstree.img: its core is a thread's (registers and thread state; task state only in the
     * leader's), its registers point into the process's memory, and its clear_tid word is not another
     * thread's id.
     */
    private void threads(ProcessImages p) {
        MmEntry mm = p.mm();
        for (int tid : p.pstree().getThreadsList()) {
            String image = ImageKind.CORE.fileName(tid);
            CoreEntry core = p.cores().get(tid);
            if (!core.hasThreadInfo() || !core.hasThreadCore()) {
                throw fail(image + " holds no registers or thread state");
            }
            if (tid == p.pid() && !core.hasTc()) {
                throw fail(image + " holds no task state (tc), which the core of a process's leader has");
            }
            if (tid != p.pid() && core.hasTc()) {
                throw fail(image + " holds task state (tc), which only the leader's core has, yet pstree.img lists "
                        + tid + " as a thread of pid " + p.pid());
            }
            long ip = core.getThreadInfo().getGpregs().getIp();
            if (vmaAt(mm, ip) < 0) {
                // e.g. registers read while the dump's parasite ran in the thread: the task would fault at once
                throw fail(image + ": ip " + hex(ip) + " lies in no mapping of mm-" + p.pid() + ".img");
            }
            long sp = core.getThreadInfo().getGpregs().getSp();
            if (!stackReaches(p, sp)) {
                throw fail(image + ": sp " + hex(sp) + " lies in no mapping of mm-" + p.pid() + ".img");
            }
        }
        if (wordsNow) {
            threadWords(p);
        }
    }

    /** Each thread's clear_tid word, in the pages of its process: its own tid (or none), not another thread's. */
    private void threadWords(ProcessImages p) {
        OwnPages own = new OwnPages(p);
        for (int tid : p.pstree().getThreadsList()) {
            String image = ImageKind.CORE.fileName(tid);
            long clearTid = p.cores().get(tid).getThreadInfo().getClearTidAddr();
            if (clearTid != 0 && (clearTid & 3) == 0) {
                int word = own.wordAt(clearTid);
                if (word != tid && word != 0 && ids.contains(word)) {
                    // glibc and musl point clear_tid at the thread's own tid (CLONE_CHILD_CLEARTID, set_tid_address)
                    throw fail(image + ": clear_tid_addr " + hex(clearTid) + " holds tid " + word + " in the memory of pid "
                            + p.pid() + ": it is the core of thread " + word + ", not of " + tid);
                }
            }
        }
    }

    /** Index of the mapping of {@code mm} that holds {@code addr}, or -1 (the mappings are in address order). */
    private static int vmaAt(MmEntry mm, long addr) {
        int lo = 0;
        int hi = mm.getVmasCount() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            VmaEntry v = mm.getVmas(mid);
            if (Long.compareUnsigned(addr, v.getStart()) < 0) {
                hi = mid - 1;
            } else if (Long.compareUnsigned(addr, v.getEnd()) >= 0) {
                lo = mid + 1;
            } else {
                return mid;
            }
        }
        return -lo - 2; // -(index of the first mapping above addr) - 2
    }

    /**
     * Whether {@code sp} is in a mapping, or below a stack that grows down, within RLIMIT_STACK of its top:
     * a thread may have moved sp down before touching the pages that would grow its stack.
     */
    private static boolean stackReaches(ProcessImages p, long sp) {
        int at = vmaAt(p.mm(), sp);
        if (at >= 0) {
            return true;
        }
        int above = -at - 2;
        if (above >= p.mm().getVmasCount()) {
            return false;
        }
        VmaEntry stack = p.mm().getVmas(above);
        if ((stack.getFlags() & Kernel.MAP_GROWSDOWN) == 0) {
            return false;
        }
        long limit = DEFAULT_STACK;
        CoreEntry leader = p.leaderCore();
        if (leader.hasTc() && leader.getTc().getRlimits().getRlimitsCount() > Kernel.RLIMIT_STACK) {
            limit = leader.getTc().getRlimits().getRlimits(Kernel.RLIMIT_STACK).getCur();
        }
        return Long.compareUnsigned(limit, stack.getEnd()) >= 0 || Long.compareUnsigned(sp, stack.getEnd() - limit) >= 0;
    }

    /** Where the runs of a process's own pages image lie: vaddr, end and offset in the image, in address order. */
    private final class OwnPages {
        private final ProcessImages p;
        private final long[] starts;
        private final long[] ends;
        private final long[] offsets;

        OwnPages(ProcessImages p) {
            this.p = p;
            int n = p.pagemap().size();
            starts = new long[n];
            ends = new long[n];
            offsets = new long[n];
            long offset = 0;
            for (int i = 0; i < n; i++) {
                PagemapEntry e = p.pagemap().get(i);
                starts[i] = e.getVaddr();
                ends[i] = e.getVaddr() + Pagemaps.pages(e) * PAGE;
                boolean elsewhere = inParent(e) || leftBehind(e);
                offsets[i] = elsewhere ? -1 : offset;
                if (!elsewhere) {
                    offset += ends[i] - starts[i];
                }
            }
        }

        /** The u32 at {@code addr} in the process's own pages image, or 0 where that image has no page there. */
        int wordAt(long addr) {
            int lo = 0;
            int hi = starts.length - 1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (Long.compareUnsigned(addr, starts[mid]) < 0) {
                    hi = mid - 1;
                } else if (Long.compareUnsigned(addr, ends[mid]) >= 0) {
                    lo = mid + 1;
                } else if (offsets[mid] < 0) {
                    return 0; // in a parent snapshot, or shared with the parent process: not this image's
                } else {
                    try (RawReader r = store.openRawReader(p.pagesFile()); Arena a = Arena.ofConfined()) {
                        MemorySegment word = a.allocate(ValueLayout.JAVA_INT);
                        r.readFully(word, offsets[mid] + (addr - starts[mid]));
                        return word.get(ValueLayout.JAVA_INT, 0);
                    }
                }
            }
            return 0;
        }
    }

    /** A run a lazy dump kept on its side: no bytes in any image here. */
    private static boolean leftBehind(PagemapEntry e) {
        int flags = e.hasFlags() ? e.getFlags() : PagemapFlags.PE_PRESENT;
        return !inParent(e) && (flags & PagemapFlags.PE_PRESENT) == 0;
    }

    private static boolean inParent(PagemapEntry e) {
        int flags = e.hasFlags() ? e.getFlags() : PagemapFlags.PE_PRESENT;
        return e.getInParent() || (flags & PagemapFlags.PE_PARENT) != 0;
    }

    /**
     * pagemap-PID.img: runs in address order inside the private mappings; the pages image holds exactly the
     * bytes of the runs it holds, and every run in a parent snapshot is there, in a pages image long enough,
     * down the chain. Runs a lazy dump left on its side ({@code PE_LAZY} alone) only for a lazy restore, and
     * only where {@link LazyMemory} lets pages be lazy.
     */
    private void pages(ProcessImages p) {
        String pagemap = ImageKind.PAGEMAP.fileName(p.pid());
        long needed = 0;
        boolean anyInParent = false;
        LazyMemory lazyMemory = null;
        for (PagemapEntry e : p.pagemap()) {
            int flags = e.hasFlags() ? e.getFlags() : PagemapFlags.PE_PRESENT;
            boolean inParent = inParent(e);
            anyInParent |= inParent;
            boolean leftBehind = !inParent && (flags & PagemapFlags.PE_PRESENT) == 0;
            if (leftBehind && (flags & PagemapFlags.PE_LAZY) == 0) {
                throw fail(pagemap + ": pages at " + hex(e.getVaddr()) + " have flags " + flags
                        + ": neither in the pages image, nor in the parent, nor lazy");
            }
            if (leftBehind && !lazy) {
                throw fail(pagemap + ": pages at " + hex(e.getVaddr()) + " were left on the dump's side (a dump with"
                        + " --lazy-pages): restore with --lazy-pages and a lazy-pages daemon that reaches the dump (--page-server)");
            }
            long pages = Pagemaps.pages(e);
            long end = e.getVaddr() + pages * PAGE;
            if (pages == 0 || pages >= MAX_RUN || !privateCover(p.mm(), e.getVaddr(), end)) {
                throw fail(pagemap + ": " + pages + " pages at " + hex(e.getVaddr()) + " lie in no private mapping of mm-"
                        + p.pid() + ".img");
            }
            if (leftBehind) {
                if (lazyMemory == null) {
                    lazyMemory = LazyMemory.of(p.mm(), List.copyOf(p.cores().values()));
                }
                if (!lazyMemory.allLazy(e.getVaddr(), end)) {
                    throw fail(pagemap + ": lazy pages at " + hex(e.getVaddr()) + "-" + hex(end) + " include pages that must"
                            + " be in place before the process runs (a stack or rseq page, or a mapping that is not private"
                            + " anonymous memory)");
                }
            } else if (!inParent) {
                needed += pages * PAGE; // in-parent pages are in the parent snapshot's images
            }
        }
        String pagesName = p.pagesFile();
        if (!store.exists(pagesName)) {
            throw fail(pagesName + " is missing (" + pagemap + " points into it)");
        }
        long size = store.size(pagesName);
        if (needed > size) {
            throw fail(pagesName + " is truncated at offset " + size + " (" + pagemap + " needs " + needed + " bytes)");
        }
        if (needed < size) {
            // each process has its own pages image: pages no entry accounts for mean a pagemap cut short
            throw fail(pagemap + " accounts for " + needed + " bytes of " + pagesName + ", which holds " + size
                    + ": the pagemap is truncated or damaged");
        }
        long previousEnd = 0;
        for (PagemapEntry e : p.pagemap()) {
            if (Long.compareUnsigned(e.getVaddr(), previousEnd) < 0) {
                throw fail(pagemap + ": pages at " + hex(e.getVaddr()) + " come before the end of the run before them, " + hex(previousEnd));
            }
            previousEnd = e.getVaddr() + Pagemaps.pages(e) * PAGE;
        }
        if (anyInParent) {
            parentChain(p);
        }
    }

    /** Whether private, fillable mappings cover [from, to) without a gap (a pagemap run may span neighbours). */
    private static boolean privateCover(MmEntry mm, long from, long to) {
        int i = vmaAt(mm, from);
        if (i < 0) {
            return false;
        }
        long at = from;
        for (; i < mm.getVmasCount() && Long.compareUnsigned(at, to) < 0; i++) {
            VmaEntry v = mm.getVmas(i);
            boolean fillable = (v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR | VmaStatus.VMA_FILE_SHARED)) == 0;
            if (!fillable || Long.compareUnsigned(v.getStart(), at) > 0) {
                return false;
            }
            at = v.getEnd();
        }
        return Long.compareUnsigned(at, to) >= 0;
    }

    /** The runs a pre-dump holds for this process: each in its snapshot's pagemap, inside that snapshot's pages image. */
    private void parentChain(ProcessImages p) {
        String pagemap = ImageKind.PAGEMAP.fileName(p.pid());
        List<ImageStore> chain = new ArrayList<>(List.of(store));
        for (ImageStore at = store.parent().orElse(null); at != null; at = at.parent().orElse(null)) {
            chain.add(at);
        }
        if (chain.size() == 1) {
            throw fail(pagemap + ": pages marked in-parent, but the images have no parent snapshot (no parent link)");
        }
        // per depth of the chain (one pages image each): the furthest byte a run needs there
        PageSource source = pages.of(p.pid());
        long[] ends = new long[source.depth()];
        String[] images = new String[source.depth()];
        for (PageSource.Extent x : source.extents()) {
            if (!x.lazy()) { // a lazy run is on the dump's side
                ends[x.depth()] = Math.max(ends[x.depth()], x.offset() + x.bytes());
                images[x.depth()] = x.pagesImage();
            }
        }
        for (int depth = 1; depth < ends.length; depth++) {
            if (images[depth] != null) {
                pagesHold(chain.get(depth), " of " + chain.get(depth), images[depth], pagemap, ends[depth]);
            }
        }
    }

    /** fs-PID.img: there, with a cwd and a root that files.img holds as paths. */
    private void fs(ProcessImages p) {
        String image = ImageKind.FS.fileName(p.pid());
        if (!store.exists(image)) {
            throw fail(image + " is missing (pid " + p.pid() + " of pstree.img needs its cwd and root from it)");
        }
        FsEntry fs = store.readEntry(ImageKind.FS, p.pid(), FsEntry.parser());
        if (!isType(fs.getCwdId(), FdTypes.REG)) {
            throw fail(image + ": cwd_id " + Integer.toUnsignedString(fs.getCwdId()) + " is " + describe(fs.getCwdId()) + ", not a directory's path");
        }
        if (!isType(fs.getRootId(), FdTypes.REG)) {
            throw fail(image + ": root_id " + Integer.toUnsignedString(fs.getRootId()) + " is " + describe(fs.getRootId()) + ", not a directory's path");
        }
    }

    /** fdinfo-ID.img of the process's files id: there, each fd once, each naming a file of its type in files.img. */
    private void fds(ProcessImages p) {
        CoreEntry core = p.leaderCore();
        int filesId = core.hasIds() && core.getIds().hasFilesId() ? core.getIds().getFilesId() : p.pid();
        String image = ImageKind.FDINFO.fileName(Integer.toUnsignedLong(filesId));
        if (!store.exists(image)) {
            throw fail(image + " is missing (pid " + p.pid() + " of pstree.img has its fds there)");
        }
        Set<Integer> seen = new HashSet<>();
        try (EntryReader r = store.openReader(ImageKind.FDINFO, Integer.toUnsignedLong(filesId))) {
            for (FdinfoEntry e; (e = r.next(FdinfoEntry.parser())) != null; ) {
                if (!seen.add(e.getFd())) {
                    throw fail(image + ": fd " + Integer.toUnsignedString(e.getFd()) + " is listed twice");
                }
                FileEntry f = files.get(e.getId());
                if (f == null) {
                    throw fail(image + ": fd " + Integer.toUnsignedString(e.getFd()) + " names file id "
                            + Integer.toUnsignedString(e.getId()) + ", which files.img does not hold");
                }
                if (f.getType() != e.getType()) {
                    throw fail(image + ": fd " + Integer.toUnsignedString(e.getFd()) + " is of type " + e.getType()
                            + ", but file id " + Integer.toUnsignedString(e.getId()) + " of files.img is a " + f.getType());
                }
            }
        }
    }

    /** A zombie's status must be one a process ends with: restore makes it again by exiting or being killed. */
    private static void zombie(Zombie z) {
        int status = z.status();
        boolean exited = (status & 0xffff00ff) == 0;
        boolean killed = (status & 0xffffff00) == 0 && z.signal() != 0 && z.signal() != 0x7f && Signals.endsAProcess(z.signal());
        if (!exited && !killed) {
            throw fail(ImageKind.CORE.fileName(z.pid()) + ": exit_code 0x" + Integer.toHexString(status)
                    + " is no status a process ends with (an exit code, or a signal whose default action ends it)");
        }
    }

    /**
     * Each process's core is its own. inventory.img names the root's ids (CRIU and cryo both write the
     * root's core ids there). cryo names every process's ids after its pid, so when the root's ids are its
     * pid, a core whose vm_id is another pid is that process's. (CRIU numbers ids from 1 instead, so a root
     * other than pid 1 whose ids are its pid is cryo's.)
     */
    private void coreOwners() {
        ProcessImages root = tree.root();
        CoreEntry rootCore = root.leaderCore();
        InventoryEntry inv = tree.inventory();
        if (inv.hasRootIds() && rootCore.hasIds() && !sameTask(inv.getRootIds(), rootCore.getIds())) {
            throw fail("inventory.img: root_ids (vm_id " + Integer.toUnsignedString(inv.getRootIds().getVmId()) + ") are not those of "
                    + ImageKind.CORE.fileName(root.pid()) + " (vm_id " + Integer.toUnsignedString(rootCore.getIds().getVmId())
                    + "), the root's core: the cores are not the tasks they are named after");
        }
        boolean namedByPid = inv.hasRootIds() && root.pid() != 1 && namesPid(inv.getRootIds(), root.pid());
        if (!namedByPid) {
            return;
        }
        for (ProcessImages p : tree.processes()) {
            CoreEntry core = p.leaderCore();
            if (core.hasIds() && core.getIds().getVmId() != p.pid()) {
                int owner = core.getIds().getVmId();
                throw fail(ImageKind.CORE.fileName(p.pid()) + " holds the ids of pid " + Integer.toUnsignedString(owner)
                        + " (vm_id): it is " + (ids.contains(owner) ? "the core of pid " + owner : "no core of this dump's")
                        + ", not of pid " + p.pid());
            }
        }
    }

    private static boolean sameTask(TaskKobjIdsEntry a, TaskKobjIdsEntry b) {
        return a.getVmId() == b.getVmId() && a.getFilesId() == b.getFilesId() && a.getFsId() == b.getFsId()
                && a.getSighandId() == b.getSighandId();
    }

    private static boolean namesPid(TaskKobjIdsEntry ids, int pid) {
        return ids.getVmId() == pid && ids.getFilesId() == pid && ids.getFsId() == pid && ids.getSighandId() == pid;
    }

    /** Every core-N.img belongs to a thread or zombie of pstree.img. */
    private void noStrayCores() {
        for (String name : store.list()) {
            if (ImageKind.ofFileName(name).orElse(null) != ImageKind.CORE) {
                continue;
            }
            String number = name.substring("core-".length(), name.length() - ".img".length());
            if (!number.matches("[0-9]{1,10}") || !ids.contains((int) Long.parseLong(number))) {
                throw fail(name + " belongs to no task of pstree.img");
            }
        }
    }

    /** What files of files.img name besides themselves: a FIFO's path, a memfd's inode. */
    private void fileEntries() {
        Set<Long> inodes = new HashSet<>();
        if (store.exists(ImageKind.MEMFD_INODE.fileName())) {
            try (EntryReader r = store.openReader(ImageKind.MEMFD_INODE)) {
                for (MemfdInodeEntry m; (m = r.next(MemfdInodeEntry.parser())) != null; ) {
                    inodes.add(m.getInodeId());
                }
            }
        }
        for (FileEntry f : files.values()) {
            String file = "files.img: " + f.getType() + " file id " + Integer.toUnsignedString(f.getId());
            if (f.getType() == FdTypes.FIFO && !isType(f.getFifo().getRegfId(), FdTypes.REG)) {
                throw fail(file + " names path file id " + Integer.toUnsignedString(f.getFifo().getRegfId()) + ", which is "
                        + describe(f.getFifo().getRegfId()));
            }
            if (f.getType() == FdTypes.MEMFD && !inodes.contains(Integer.toUnsignedLong(f.getMemfd().getInodeId()))) {
                throw fail(file + " names memfd inode " + Integer.toUnsignedString(f.getMemfd().getInodeId())
                        + ", which " + ImageKind.MEMFD_INODE.fileName() + " does not hold");
            }
        }
    }

    /** pipes-data.img (fifo-data.img): each entry's data belongs to a pipe (FIFO) of files.img. */
    private void pipeData(ImageKind kind, FdTypes type) {
        if (!store.exists(kind.fileName())) {
            return;
        }
        Set<Integer> pipes = new HashSet<>();
        for (FileEntry f : files.values()) {
            if (f.getType() == type) {
                pipes.add(type == FdTypes.PIPE ? f.getPipe().getPipeId() : f.getFifo().getPipeId());
            }
        }
        try (EntryReader r = store.openReader(kind)) {
            int n = 0;
            for (PipeDataEntry e; (e = r.next(PipeDataEntry.parser())) != null; n++) {
                if (!pipes.contains(e.getPipeId())) {
                    throw fail(kind.fileName() + ": entry " + n + " holds " + Integer.toUnsignedString(e.getBytes())
                            + " bytes for pipe id " + Integer.toUnsignedString(e.getPipeId()) + ", which no "
                            + (type == FdTypes.PIPE ? "pipe" : "FIFO") + " of files.img has");
                }
            }
        }
    }

    /** sk-queues.img: each packet queued on a unix socket of files.img. */
    private void socketQueues() {
        if (!store.exists(ImageKind.SK_QUEUES.fileName())) {
            return;
        }
        try (EntryReader r = store.openReader(ImageKind.SK_QUEUES)) {
            int n = 0;
            for (SkPacketEntry e; (e = r.next(SkPacketEntry.parser())) != null; n++) {
                if (!isType(e.getIdFor(), FdTypes.UNIXSK)) {
                    throw fail(ImageKind.SK_QUEUES.fileName() + ": packet " + n + " is queued on file id "
                            + Integer.toUnsignedString(e.getIdFor()) + ", which is " + describe(e.getIdFor()) + ", not a unix socket");
                }
            }
        }
    }
}
