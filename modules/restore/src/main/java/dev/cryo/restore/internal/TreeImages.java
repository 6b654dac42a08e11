package dev.cryo.restore.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.PagemapFlags;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.syscalls.Signals;

/**
 * Every image a restore needs, read and checked before any process is started: a damaged or
 * incomplete dump is refused while nothing exists that would have to be killed.
 *
 * @param processes every live process, parents before their children (the root first)
 * @param zombies   every process that was dead at dump, waiting for its parent to reap it
 * @param paths     file ids of files.img to the paths of regular files (mappings, the executable)
 * @param memfds    file ids of files.img that are memfds (what a mapping with VMA_AREA_MEMFD names)
 */
record TreeImages(List<ProcessImages> processes, List<Zombie> zombies, Map<Integer, String> paths, Set<Integer> memfds) {
    /** CRIU's task_state of a zombie in core.proto (TASK_ALIVE is 1, TASK_STOPPED 3). */
    static final int TASK_DEAD = 2;

    /**
     * One process: its pstree entry, the core of each thread (the leader's first), its mm and its pagemap.
     *
     * @param pagesFile name of the pages image the pagemap points into
     */
    record ProcessImages(PstreeEntry pstree, Map<Integer, CoreEntry> cores, MmEntry mm, String pagesFile,
                         List<PagemapEntry> pagemap) {
        int pid() {
            return pstree.getPid();
        }

        CoreEntry leaderCore() {
            return cores.get(pid());
        }

        /** Thread ids other than the leader's, in dump order. */
        List<Integer> otherThreads() {
            return pstree.getThreadsList().stream().filter(t -> t != pid()).toList();
        }

        boolean isSessionLeader() {
            return pstree.getSid() == pid();
        }
    }

    /**
     * A zombie: a process that had exited and waited for its parent to reap it. Its core holds only
     * task state: {@code exit_code} is the status its parent's wait will report.
     */
    record Zombie(PstreeEntry pstree, CoreEntry core) {
        int pid() {
            return pstree.getPid();
        }

        boolean isSessionLeader() {
            return pstree.getSid() == pid();
        }

        /** The wait status: exit code in bits 8-15, or the terminating signal in bits 0-6 (bit 7: core dumped). */
        int status() {
            return core.getTc().getExitCode();
        }

        /** The signal that killed it, or 0 if it called exit. */
        int signal() {
            return status() & 0x7f;
        }

        /** The exit code it passed to exit (0 when a signal killed it). */
        int exitCode() {
            return (status() >> 8) & 0xff;
        }
    }

    ProcessImages root() {
        return processes.getFirst();
    }

    List<ProcessImages> childrenOf(int pid) {
        return processes.stream().filter(p -> p.pstree().getPpid() == pid && p.pid() != pid && p != root()).toList();
    }

    Optional<ProcessImages> process(int pid) {
        return processes.stream().filter(p -> p.pid() == pid).findFirst();
    }

    /** The zombies whose parent is {@code pid}. */
    List<Zombie> zombiesOf(int pid) {
        return zombies.stream().filter(z -> z.pstree().getPpid() == pid).toList();
    }

    /** Every id the tree needs, pids and tids, the zombies' pids among them. */
    List<Integer> ids() {
        List<Integer> ids = new ArrayList<>();
        processes.forEach(p -> ids.addAll(p.pstree().getThreadsList()));
        zombies.forEach(z -> ids.add(z.pid()));
        return ids;
    }

    static TreeImages read(ImageStore store) {
        if (!store.exists(ImageKind.INVENTORY.fileName())) {
            throw new IllegalStateException("no inventory.img: the directory holds no complete dump");
        }
        List<PstreeEntry> tree;
        try (var r = store.openReader(ImageKind.PSTREE)) {
            tree = r.readAll(PstreeEntry.parser());
        }
        if (tree.isEmpty()) {
            throw new IllegalStateException("pstree.img holds no process");
        }
        Map<Integer, PstreeEntry> byPid = new LinkedHashMap<>();
        for (PstreeEntry e : tree) {
            if (e.getPid() <= 0 || byPid.put(e.getPid(), e) != null) {
                throw new IllegalStateException("pstree.img: pid " + e.getPid() + " is invalid or listed twice");
            }
            if (!e.getThreadsList().contains(e.getPid())) {
                throw new IllegalStateException("pstree.img: pid " + e.getPid() + " is not among its own threads " + e.getThreadsList());
            }
        }
        List<PstreeEntry> roots = tree.stream().filter(e -> !byPid.containsKey(e.getPpid())).toList();
        if (roots.size() != 1) {
            throw new IllegalStateException("pstree.img: " + roots.size() + " processes have no parent in the dump; expected one root");
        }
        Map<Integer, String> paths = new HashMap<>();
        Set<Integer> memfds = new HashSet<>();
        readFiles(store, paths, memfds);
        List<ProcessImages> ordered = new ArrayList<>();
        List<Zombie> zombies = new ArrayList<>();
        addInTreeOrder(roots.getFirst(), tree, store, paths, memfds, ordered, zombies);
        if (ordered.size() + zombies.size() != tree.size()) {
            throw new IllegalStateException("pstree.img: the parent links do not form a tree");
        }
        if (zombies.stream().anyMatch(z -> z.pid() == roots.getFirst().getPid())) {
            throw new IllegalStateException("pstree.img: the root, pid " + roots.getFirst().getPid() + ", is a zombie (core-"
                    + roots.getFirst().getPid() + ".img): there is nothing to restore");
        }
        return new TreeImages(List.copyOf(ordered), List.copyOf(zombies), paths, Set.copyOf(memfds));
    }

    private static void addInTreeOrder(PstreeEntry e, List<PstreeEntry> tree, ImageStore store, Map<Integer, String> paths,
                                       Set<Integer> memfds, List<ProcessImages> out, List<Zombie> zombies) {
        Optional<Zombie> dead = zombie(e, store);
        if (dead.isPresent()) {
            if (tree.stream().anyMatch(c -> c.getPpid() == e.getPid() && c != e)) {
                throw new IllegalStateException("pstree.img: pid " + e.getPid() + " is a zombie with children;"
                        + " the children of a process that exits go to a reaper");
            }
            zombies.add(dead.get());
            return;
        }
        out.add(process(e, store, paths, memfds));
        for (PstreeEntry c : tree) {
            if (c.getPpid() == e.getPid() && c != e && out.stream().noneMatch(p -> p.pid() == c.getPid())) {
                addInTreeOrder(c, tree, store, paths, memfds, out, zombies);
            }
        }
    }

    /**
     * The zombie that {@code e} is, if its core says TASK_DEAD. A zombie has one thread and no mm, pagemap or
     * fds images; its status must be one that a process ends with (an exit code, or a signal whose default
     * action ends a process), since restore reproduces it by exiting or being killed.
     */
    private static Optional<Zombie> zombie(PstreeEntry e, ImageStore store) {
        int pid = e.getPid();
        CoreEntry core = store.readEntry(ImageKind.CORE, require(store, ImageKind.CORE, pid), CoreEntry.parser());
        if (!core.hasTc() || core.getTc().getTaskState() != TASK_DEAD) {
            return Optional.empty();
        }
        if (!e.getThreadsList().equals(List.of(pid))) {
            throw new IllegalStateException("pstree.img: pid " + pid + " is a zombie (core-" + pid + ".img) yet lists threads "
                    + e.getThreadsList());
        }
        Zombie z = new Zombie(e, core);
        int status = z.status();
        boolean exited = (status & 0xffff00ff) == 0;
        boolean killed = (status & 0xffffff00) == 0 && z.signal() != 0 && z.signal() != 0x7f && Signals.endsAProcess(z.signal());
        if (!exited && !killed) {
            throw new IllegalStateException("core-" + pid + ".img: exit_code 0x" + Integer.toHexString(status)
                    + " is no status a process ends with (an exit code, or a signal whose default action ends it)");
        }
        return Optional.of(z);
    }

    private static ProcessImages process(PstreeEntry e, ImageStore store, Map<Integer, String> paths, Set<Integer> memfds) {
        int pid = e.getPid();
        MmEntry mm = store.readEntry(ImageKind.MM, require(store, ImageKind.MM, pid), MmEntry.parser());
        Map<Integer, CoreEntry> cores = new LinkedHashMap<>();
        List<Integer> tids = new ArrayList<>(e.getThreadsList());
        tids.remove(Integer.valueOf(pid));
        tids.addFirst(pid);
        for (int tid : tids) {
            CoreEntry core = store.readEntry(ImageKind.CORE, require(store, ImageKind.CORE, tid), CoreEntry.parser());
            if (!core.hasThreadInfo() || !core.hasThreadCore()) {
                throw new IllegalStateException("core-" + tid + ".img holds no registers or thread state");
            }
            long ip = core.getThreadInfo().getGpregs().getIp();
            if (mm.getVmasList().stream().noneMatch(v -> ip >= v.getStart() && ip < v.getEnd())) {
                // e.g. registers read while the dump's parasite ran in the thread: the task would fault at once
                throw new IllegalStateException("core-" + tid + ".img: ip 0x" + Long.toHexString(ip)
                        + " lies in no mapping of mm-" + pid + ".img");
            }
            cores.put(tid, core);
        }
        if (!cores.get(pid).hasTc()) {
            throw new IllegalStateException("core-" + pid + ".img holds no task state (it is the leader's)");
        }
        for (VmaEntry v : mm.getVmasList()) {
            if (v.getEnd() <= v.getStart() || (v.getStart() & (Puppet.PAGE - 1)) != 0 || (v.getEnd() & (Puppet.PAGE - 1)) != 0) {
                throw new IllegalStateException("mm-" + pid + ".img: mapping 0x" + Long.toHexString(v.getStart())
                        + "-0x" + Long.toHexString(v.getEnd()) + " is not a page-aligned range");
            }
            boolean file = (v.getStatus() & (VmaStatus.VMA_FILE_PRIVATE | VmaStatus.VMA_FILE_SHARED)) != 0;
            boolean memfd = (v.getStatus() & VmaStatus.VMA_AREA_MEMFD) != 0;
            if (file && !(memfd ? memfds : paths.keySet()).contains((int) v.getShmid())) {
                throw new IllegalStateException("mm-" + pid + ".img: mapping 0x" + Long.toHexString(v.getStart())
                        + " names file id " + v.getShmid() + ", which files.img does not hold"
                        + (memfd ? " as a memfd" : " as a regular file"));
            }
        }
        String pagemapName = ImageKind.PAGEMAP.fileName(require(store, ImageKind.PAGEMAP, pid));
        List<PagemapEntry> entries;
        int pagesId;
        try (var r = store.openReader(ImageKind.PAGEMAP, pid)) {
            PagemapHead head = r.next(PagemapHead.parser());
            if (head == null) {
                throw new IllegalStateException(pagemapName + " has no head");
            }
            pagesId = head.getPagesId();
            entries = r.readAll(PagemapEntry.parser());
        }
        String pagesName = ImageKind.PAGES.fileName(pagesId);
        if (!store.exists(pagesName)) {
            throw new IllegalStateException(pagesName + " is missing (" + pagemapName + " points into it)");
        }
        long needed = 0;
        for (PagemapEntry pe : entries) {
            int flags = pe.hasFlags() ? pe.getFlags() : PagemapFlags.PE_PRESENT;
            boolean inParent = pe.getInParent() || (flags & PagemapFlags.PE_PARENT) != 0;
            if (!inParent && (flags & PagemapFlags.PE_LAZY) != 0) {
                throw new IllegalStateException(pagemapName + ": pages at 0x" + Long.toHexString(pe.getVaddr())
                        + " are lazy (flags " + flags + "), which restore does not handle yet");
            }
            long nrPages = dev.cryo.images.Pagemaps.pages(pe); // CRIU 4.2 keeps it in a field of its own
            long end = pe.getVaddr() + nrPages * Puppet.PAGE;
            boolean inside = nrPages > 0 && nrPages < (1L << 36) && covered(mm, pe.getVaddr(), end);
            if (!inside) {
                throw new IllegalStateException(pagemapName + ": " + nrPages + " pages at 0x" + Long.toHexString(pe.getVaddr())
                        + " lie in no private mapping of mm-" + pid + ".img");
            }
            if (!inParent) {
                needed += nrPages * Puppet.PAGE; // in-parent pages are in the parent snapshot's images
            }
        }
        long size = store.pathOf(pagesName).map(p -> p.toFile().length()).orElse(-1L);
        if (size >= 0 && needed > size) {
            throw new IllegalStateException(pagesName + " is truncated at offset " + size + " (" + pagemapName
                    + " needs " + needed + " bytes)");
        }
        if (size >= 0 && needed < size) {
            // each process has its own pages image: pages no entry accounts for mean a pagemap cut short
            throw new IllegalStateException(pagemapName + " accounts for " + needed + " bytes of " + pagesName
                    + ", which holds " + size + ": the pagemap is truncated or damaged");
        }
        return new ProcessImages(e, cores, mm, pagesName, entries);
    }

    /** Whether private, fillable mappings cover [from, to) without a gap (a pagemap run may span neighbours). */
    private static boolean covered(MmEntry mm, long from, long to) {
        long at = from;
        boolean moved = true;
        while (at < to && moved) {
            moved = false;
            for (VmaEntry v : mm.getVmasList()) {
                boolean fillable = (v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR | VmaStatus.VMA_FILE_SHARED)) == 0;
                if (fillable && at >= v.getStart() && at < v.getEnd()) {
                    at = v.getEnd();
                    moved = true;
                    break;
                }
            }
        }
        return at >= to;
    }

    private static int require(ImageStore store, ImageKind kind, int id) {
        if (!store.exists(kind.fileName(id))) {
            throw new IllegalStateException(kind.fileName(id) + " is missing");
        }
        return id;
    }

    /** The regular files of files.img by id, with their paths, and the ids of its memfds. */
    private static void readFiles(ImageStore store, Map<Integer, String> paths, Set<Integer> memfds) {
        if (!store.exists(ImageKind.FILES.fileName())) {
            return;
        }
        try (var r = store.openReader(ImageKind.FILES)) {
            for (FileEntry f : r.readAll(FileEntry.parser())) {
                if (f.hasReg()) {
                    String name = f.getReg().getName();
                    paths.put(f.getId(), name.startsWith("/") ? name : "/" + name);
                } else if (f.hasMemfd()) {
                    memfds.add(f.getId());
                }
            }
        }
    }
}
