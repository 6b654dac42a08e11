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
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.images.proto.PstreeEntry;

/**
 * Every image a restore needs, read before any process is started: a damaged or incomplete dump is
 * refused while nothing exists that would have to be killed. Reading checks what it needs to go on (the
 * images it reads are there and parse, pstree.img is a tree); {@link ImageConsistency} checks the images
 * against each other.
 *
 * @param inventory inventory.img's entry
 * @param processes every live process, parents before their children (the root first)
 * @param zombies   every process that was dead at dump, waiting for its parent to reap it
 * @param paths     file ids of files.img to the paths of regular files (mappings, the executable)
 * @param memfds    file ids of files.img that are memfds (what a mapping with VMA_AREA_MEMFD names)
 */
record TreeImages(InventoryEntry inventory, List<ProcessImages> processes, List<Zombie> zombies, Map<Integer, String> paths, Set<Integer> memfds) {
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
            throw new RestoreError("no inventory.img: the directory holds no complete dump");
        }
        InventoryEntry inventory = store.readEntry(ImageKind.INVENTORY, InventoryEntry.parser());
        List<PstreeEntry> tree;
        try (var r = store.openReader(ImageKind.PSTREE)) {
            tree = r.readAll(PstreeEntry.parser());
        }
        if (tree.isEmpty()) {
            throw new RestoreError("pstree.img holds no process");
        }
        Map<Integer, PstreeEntry> byPid = new LinkedHashMap<>();
        for (PstreeEntry e : tree) {
            if (e.getPid() <= 0 || byPid.put(e.getPid(), e) != null) {
                throw new RestoreError("pstree.img: pid " + e.getPid() + " is invalid or listed twice");
            }
            if (!e.getThreadsList().contains(e.getPid())) {
                throw new RestoreError("pstree.img: pid " + e.getPid() + " is not among its own threads " + e.getThreadsList());
            }
        }
        List<PstreeEntry> roots = tree.stream().filter(e -> !byPid.containsKey(e.getPpid())).toList();
        if (roots.size() != 1) {
            throw new RestoreError("pstree.img: " + roots.size() + " processes have no parent in the dump; expected one root");
        }
        Map<Integer, String> paths = new HashMap<>();
        Set<Integer> memfds = new HashSet<>();
        readFiles(store, paths, memfds);
        List<ProcessImages> ordered = new ArrayList<>();
        List<Zombie> zombies = new ArrayList<>();
        addInTreeOrder(roots.getFirst(), tree, store, ordered, zombies);
        if (ordered.size() + zombies.size() != tree.size()) {
            throw new RestoreError("pstree.img: the parent links do not form a tree");
        }
        if (zombies.stream().anyMatch(z -> z.pid() == roots.getFirst().getPid())) {
            throw new RestoreError("pstree.img: the root, pid " + roots.getFirst().getPid() + ", is a zombie (core-"
                    + roots.getFirst().getPid() + ".img): there is nothing to restore");
        }
        return new TreeImages(inventory, List.copyOf(ordered), List.copyOf(zombies), paths, Set.copyOf(memfds));
    }

    private static void addInTreeOrder(PstreeEntry e, List<PstreeEntry> tree, ImageStore store, List<ProcessImages> out,
                                       List<Zombie> zombies) {
        Optional<Zombie> dead = zombie(e, store);
        if (dead.isPresent()) {
            if (tree.stream().anyMatch(c -> c.getPpid() == e.getPid() && c != e)) {
                throw new RestoreError("pstree.img: pid " + e.getPid() + " is a zombie with children;"
                        + " the children of a process that exits go to a reaper");
            }
            zombies.add(dead.get());
            return;
        }
        out.add(process(e, store));
        for (PstreeEntry c : tree) {
            if (c.getPpid() == e.getPid() && c != e && out.stream().noneMatch(p -> p.pid() == c.getPid())) {
                addInTreeOrder(c, tree, store, out, zombies);
            }
        }
    }

    /** The zombie that {@code e} is, if its core says TASK_DEAD. A zombie has one thread and no mm, pagemap or fds images. */
    private static Optional<Zombie> zombie(PstreeEntry e, ImageStore store) {
        int pid = e.getPid();
        CoreEntry core = store.readEntry(ImageKind.CORE, require(store, ImageKind.CORE, pid), CoreEntry.parser());
        if (!core.hasTc() || core.getTc().getTaskState() != TASK_DEAD) {
            return Optional.empty();
        }
        if (!e.getThreadsList().equals(List.of(pid))) {
            throw new RestoreError("pstree.img: pid " + pid + " is a zombie (core-" + pid + ".img) yet lists threads "
                    + e.getThreadsList());
        }
        return Optional.of(new Zombie(e, core));
    }

    private static ProcessImages process(PstreeEntry e, ImageStore store) {
        int pid = e.getPid();
        MmEntry mm = store.readEntry(ImageKind.MM, require(store, ImageKind.MM, pid), MmEntry.parser());
        Map<Integer, CoreEntry> cores = new LinkedHashMap<>();
        List<Integer> tids = new ArrayList<>(e.getThreadsList());
        tids.remove(Integer.valueOf(pid));
        tids.addFirst(pid);
        for (int tid : tids) {
            cores.put(tid, store.readEntry(ImageKind.CORE, require(store, ImageKind.CORE, tid), CoreEntry.parser()));
        }
        String pagemapName = ImageKind.PAGEMAP.fileName(require(store, ImageKind.PAGEMAP, pid));
        List<PagemapEntry> entries;
        int pagesId;
        try (var r = store.openReader(ImageKind.PAGEMAP, pid)) {
            PagemapHead head = r.next(PagemapHead.parser());
            if (head == null) {
                throw new RestoreError(pagemapName + " has no head");
            }
            pagesId = head.getPagesId();
            entries = r.readAll(PagemapEntry.parser());
        }
        return new ProcessImages(e, cores, mm, ImageKind.PAGES.fileName(pagesId), entries);
    }

    private static int require(ImageStore store, ImageKind kind, int id) {
        if (!store.exists(kind.fileName(id))) {
            throw new RestoreError(kind.fileName(id) + " is missing");
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
