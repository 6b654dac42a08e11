package dev.cryo.restore.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.RemoteImageStore;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.Snapshots;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.StopPoints;
import dev.cryo.parasite.Tracer;
import dev.cryo.restore.RestoreException;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.RestoreStats;
import dev.cryo.restore.internal.TreeImages.ProcessImages;
import dev.cryo.restore.internal.TreeImages.Zombie;
import dev.cryo.restore.internal.files.NetworkRestore;
import dev.cryo.restore.internal.files.KeptFiles;
import dev.cryo.restore.internal.files.TaskFiles;
import dev.cryo.restore.internal.memory.LazyProcess;
import dev.cryo.restore.internal.memory.MemoryRestore;
import dev.cryo.restore.internal.memory.PuppetSpace;
import dev.cryo.restore.internal.memory.VdsoGroup;
import dev.cryo.restore.internal.state.TaskState;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.ProcMaps;

/**
 * One restore, start to end. Everything runs on one tracer thread, each step injected into puppets:
 *
 * <ol>
 * <li>read every image and check them against each other ({@link ImageConsistency}: nothing is restored
 *     from a damaged or inconsistent dump), while the keeper starts beside;</li>
 * <li>seize the keeper's puppet, the stub; with --pidns clone the namespace's init from it;</li>
 * <li>per process, parents first: clone it from its parent puppet with its pid, setsid if it led a
 *     session, clone its zombies likewise, build its memory, then clone its children (after its private
 *     memory is in place, as fork had them) and its threads with their tids;</li>
 * <li>process groups, leaders first;</li>
 * <li>the zombies end, with the status each had, and stay unreaped ({@link ZombieRestore});</li>
 * <li>per process: files and kernel state (fds, signal handlers), then per thread its kernel state
 *     (clear_tid, robust list, sigaltstack, name, rseq);</li>
 * <li>per process: the trampoline goes, every thread gets its registers, xstate and signal mask;</li>
 * <li>all tasks are released together; the stub is killed.</li>
 * </ol>
 *
 * Any failure kills every task created so far ({@link Puppets}), and with them the keeper exits.
 */
public final class RestoreRun {
    /** Shared anonymous objects (by shmid) whose contents are in place: each is filled once per tree. */
    private final java.util.Set<Long> filledShared = new java.util.HashSet<>();
    /** In a lazy restore, each process's part of it, by pid; empty otherwise. */
    private final Map<Integer, LazyProcess> lazy = new HashMap<>();
    private final RestoreOptions options;
    private final Cancellation cancel;
    private final ImageStore store;
    /** The keeper of the restore: told of every process made, so that it kills them all should cryo die first. */
    private Keeper keeper;
    /** Where each process's pages are: resolved once, for the image check and the fill. */
    private PageSources pages;
    /** The tree's IPC namespace, when it had one of its own: the root is cloned into a new one, filled before its memory. */
    private IpcNamespaceRestore ipc = IpcNamespaceRestore.NONE;
    /** A lazy restore's handoff has been told that the restore needs its source from now on (LazyHandoff.awaitSource). */
    private boolean sourceAwaited;
    /** Each step's time, for --display-stats. */
    private final StepClock clock = new StepClock();

    private RestoreRun(RestoreOptions options, Cancellation cancel, ImageStore store) {
        this.options = options;
        this.cancel = cancel;
        this.store = store;
    }

    public static RestoreStats run(RestoreOptions options, Cancellation cancel) throws RestoreException {
        if (options.remote() != null) {
            // -D names the snapshot in the image cache; every image is read from there, waited for until it arrives
            RemoteImageStore store;
            try {
                store = RemoteImageStore.open(options.remote(), Snapshots.of(options.imagesDir()), cancel::check);
            } catch (RemoteImageException | IllegalArgumentException e) {
                throw new RestoreException("cannot restore " + source(options) + ": " + e.getMessage(), e);
            }
            try (store) {
                return run(options, cancel, store);
            }
        }
        if (!Files.isDirectory(options.imagesDir())) {
            throw new RestoreException("cannot restore from " + options.imagesDir() + ": no such directory");
        }
        return run(options, cancel, new DirectoryImageStore(options.imagesDir()));
    }

    /** What a restore reads, for messages: {@code from DIR}, or {@code snapshot S from the image cache at SOCK}. */
    private static String source(RestoreOptions o) {
        return o.remote() == null ? "from " + o.imagesDir() : "snapshot " + o.imagesDir().normalize() + " from " + o.remote();
    }

    private static RestoreStats run(RestoreOptions options, Cancellation cancel, ImageStore store) throws RestoreException {
        RestoreRun run = new RestoreRun(options, cancel, store);
        long start = System.nanoTime();
        TreeImages images;
        Keeper keeper = null;
        KeptFiles kept = null;
        // The images are read and checked on a thread of their own while this one starts the keeper (a fork and
        // exec, 5-15 ms of a command's cold start): this thread, as the keeper's parent, must outlive the restore
        // (PR_SET_PDEATHSIG). A restore refused by its images kills the keeper it started for nothing.
        java.util.concurrent.FutureTask<TreeImages> reading = new java.util.concurrent.FutureTask<>(() -> {
            TreeImages read = run.clock.run(0, "reading images", () -> TreeImages.read(run.store));
            run.pages = new PageSources(run.store, read);
            if (run.store instanceof RemoteImageStore) {
                // the pages still travel: what needs their bytes is checked once they are there (restoreTree)
                run.clock.run(0, "checking images",
                        () -> ImageConsistency.checkAllButPages(run.store, read, options.lazyPages() != null, run.pages));
            } else {
                run.clock.run(0, "checking images", () -> ImageConsistency.check(run.store, read, options.lazyPages() != null, run.pages));
            }
            run.ipc = run.clock.run(0, "checking the IPC namespace's images", () -> IpcNamespaceRestore.read(run.store, read));
            return read;
        });
        Thread.ofPlatform().name("cryo-restore-images").start(reading);
        try {
            RuntimeException failed = null;
            try {
                keeper = run.clock.run(0, "starting the puppet", Keeper::start);
            } catch (RuntimeException e) {
                failed = e;
            }
            images = awaitImages(reading, failed);
            checkShellJob(options, images);
            checkNetworkOptions(options, run.store);
            if (options.samePid() && !options.pidns()) {
                takenIds(images);
            }
            TreeImages read = images;
            kept = run.clock.run(0, "re-creating kept files", () -> KeptFiles.recreateMissing(run.store, read.paths(), mappedFiles(read)));
        } catch (RuntimeException e) {
            if (kept != null) {
                kept.close();
            }
            if (run.pages != null) {
                run.pages.close();
            }
            if (keeper != null) {
                keeper.abandon();
            }
            throw explain(options, e);
        }
        Restored restored;
        Keeper started = keeper;
        TreeImages tree = images;
        try {
            restored = Tracer.call("restore-" + images.root().pid(), () -> run.restoreTree(started, tree));
        } catch (Exception e) {
            keeper.close(); // the puppets are dead: the keeper exits by itself
            TaskFiles.abandon(run.store); // cryo's copies of the tree's files
            kept.close(); // the files re-created for them
            throw explain(options, e);
        } finally {
            run.pages.close();
        }
        kept.keep();
        if (run.store instanceof RemoteImageStore remote) {
            try {
                remote.done(); // the image cache's work is done
            } catch (RemoteImageException e) {
                // the tree runs; a cache that went away has nothing more to do anyway
            }
        }
        int exit = -1;
        if (options.detached() && options.orphan()) {
            keeper.leave(); // the tree is reparented as CRIU's is; cryo reaps the keeper itself
        }
        if (!options.detached()) {
            try {
                exit = keeper.awaitEmpty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RestoreException("interrupted while waiting for the restored tree; it runs on", e);
            }
        }
        return new RestoreStats(restored.pid(), restored.pages(), System.nanoTime() - start, exit, run.clock.steps());
    }

    /** The images, read and checked; the failure of either side first (the images' before the keeper's {@code failed}). */
    private static TreeImages awaitImages(java.util.concurrent.FutureTask<TreeImages> reading, RuntimeException failed) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    TreeImages images = reading.get();
                    if (failed != null) {
                        throw failed;
                    }
                    return images;
                } catch (InterruptedException e) {
                    interrupted = true; // the reading is short: it ends, then the interrupt goes on
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) {
                        throw r;
                    }
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The file ids that mappings name (not memfds): those whose kept contents may re-create a missing file. */
    private static java.util.Set<Integer> mappedFiles(TreeImages images) {
        java.util.Set<Integer> ids = new java.util.TreeSet<>();
        for (TreeImages.ProcessImages p : images.processes()) {
            for (VmaEntry v : p.mm().getVmasList()) {
                if ((v.getStatus() & (VmaStatus.VMA_FILE_PRIVATE | VmaStatus.VMA_FILE_SHARED)) != 0
                        && (v.getStatus() & VmaStatus.VMA_AREA_MEMFD) == 0) {
                    ids.add((int) v.getShmid());
                }
            }
        }
        return ids;
    }

    /** As CRIU: a tree dumped as a shell job (its session leader outside it) is restored only with --shell-job. */
    private static void checkShellJob(RestoreOptions options, TreeImages images) {
        int sid = images.root().pstree().getSid();
        boolean leaderInTree = images.processes().stream().anyMatch(p -> p.pid() == sid)
                || images.zombies().stream().anyMatch(z -> z.pid() == sid);
        if (!leaderInTree && !options.shellJob()) {
            throw new RestoreError("the dump is a shell job (its session leader, pid " + sid
                    + ", was outside the tree): restore it with --shell-job");
        }
    }

    /** As CRIU: a dump taken with --tcp-close kept no connection, and is restored only with --tcp-close. */
    /**
     * As CRIU, before anything is started: a dump taken with --tcp-close kept no connection and is restored only
     * with --tcp-close; an established TCP connection in the images needs --tcp-established (or --tcp-close), a
     * unix socket connected outside the tree --ext-unix-sk. A refused restore leaves the dump's lock on the
     * connections, for the restore to be tried again.
     */
    private static void checkNetworkOptions(RestoreOptions options, ImageStore store) {
        RestoreOptions.Network net = options.network();
        InventoryEntry inv;
        try (var r = store.openReader(ImageKind.INVENTORY)) {
            inv = r.next(InventoryEntry.parser());
        }
        if (inv != null && inv.getTcpClose() && !net.tcpClose()) {
            throw new RestoreError("the dump was taken with --tcp-close: its TCP connections were not kept;"
                    + " restore it with --tcp-close");
        }
        if (!store.exists(ImageKind.FILES.fileName())) {
            return;
        }
        List<FileEntry> files;
        try (var r = store.openReader(ImageKind.FILES)) {
            files = r.readAll(FileEntry.parser());
        }
        for (FileEntry f : files) {
            if (f.hasIsk() && f.getIsk().getProto() == Kernel.IPPROTO_TCP && f.getIsk().getDstPort() != 0
                    && !net.tcpEstablished() && !net.tcpClose()) {
                throw new RestoreError("files.img holds an established TCP connection (socket "
                        + Integer.toUnsignedLong(f.getIsk().getIno()) + "): restore with --tcp-established"
                        + " (or --tcp-close to restore it closed)");
            }
            if (f.hasUsk() && (f.getUsk().getUflags() & 1) != 0 && !net.extUnixSk()) { // USK_EXTERN
                throw new RestoreError("files.img holds a unix socket connected to "
                        + dev.cryo.syscalls.SocketAddress.displayUnix(f.getUsk().getName().toByteArray())
                        + ", outside the tree: restore with --ext-unix-sk to connect it again");
            }
        }
    }

    private static RestoreException explain(RestoreOptions o, Exception e) {
        String why = switch (e) {
            case Cancellation.CancelledException c -> "restore " + c.getMessage();
            default -> CryoFailure.describe(e);
        };
        return new RestoreException("cannot restore " + source(o) + ": " + why, e);
    }

    /** A pid or tid that a live task holds: refused before anything is started. */
    private static void takenIds(TreeImages images) {
        for (int id : images.ids()) {
            if (Files.exists(Path.of("/proc/" + id))) {
                String comm;
                try {
                    comm = Proc.read(id, "comm").strip();
                } catch (RuntimeException e) {
                    comm = "?";
                }
                throw new RestoreError("pid " + id + " is taken (by " + comm + "); the restored tree needs it:"
                        + " stop that process, or restore into a new pid namespace with --pidns");
            }
        }
    }

    /** The tree as it runs again: its root's pid as cryo sees it, and the pages filled in. */
    private record Restored(int pid, long pages) {}

    /** One restored process: its images, the puppet of its leader, and one per thread (the leader's first). */
    private record Task(ProcessImages img, Puppet leader, List<Puppet> threads) {
        int pid() {
            return img.pid();
        }
    }

    /** A zombie of the dump, in the puppet that stands for it until it ends. */
    private record Dead(Zombie img, Puppet puppet) {
        int pid() {
            return img.pid();
        }
    }

    /** A process as a member of its session and group, live or a zombie that has yet to end. */
    private record Member(PstreeEntry pstree, Puppet leader) {
        int pid() {
            return pstree.getPid();
        }

        boolean leadsSession() {
            return pstree.getSid() == pid();
        }
    }

    /** On the tracer thread: builds the tree in puppets and lets it run. */
    private Restored restoreTree(Keeper keeper, TreeImages img) {
        try {
            return buildAndRelease(keeper, img);
        } finally {
            lazy.values().forEach(LazyProcess::close); // cryo's copies: the daemon has its own
        }
    }

    private Restored buildAndRelease(Keeper keeper, TreeImages img) {
        this.keeper = keeper;
        RestoreOptions.Network n = options.network();
        // closed after the puppets: a failed restore's repaired connections die with their tasks, silently
        try (NetworkRestore net = new NetworkRestore(n.tcpEstablished(), n.tcpClose(), n.extUnixSk(), n.lock(), img.root().pid());
             Puppets all = new Puppets()) {
            Puppet stub = all.add(clock.run(0, "seizing the puppet", () -> Puppet.seize(keeper.puppetPid())));
            // Every task's trampoline and parked vDSO lie in the same range, free in all of them.
            MemoryRestore layout = clock.run(0, "placing the trampoline", () -> {
                List<ProcMaps.Mapping> maps = ProcMaps.of(stub.pid());
                long span = VdsoGroup.span(maps);
                List<VmaEntry> vmas = new ArrayList<>();
                img.processes().forEach(p -> vmas.addAll(p.mm().getVmasList()));
                long area = PuppetSpace.freeArea(vmas, maps, Puppet.TRAMPOLINE_SIZE + span);
                stub.placeTrampoline(area);
                return new MemoryRestore(area, area + Puppet.TRAMPOLINE_SIZE, span);
            });
            Puppet creator = stub;
            Puppet nsInit = null;
            if (options.pidns()) {
                nsInit = all.add(clock.run(0, "creating the pid namespace", stub::clonePidNamespace));
                keeper.register(nsInit.tid()); // its death ends every task of its namespace
                creator = nsInit;
            }
            List<Task> tasks = new ArrayList<>();
            List<Dead> zombies = new ArrayList<>();
            long[] pages = {0};
            createProcess(img, img.root(), creator, layout, all, tasks, zombies, pages);
            awaitLazySource(img.root().pid());
            if (options.lazyPages() != null) {
                // The restore's last write into the tree's memory is behind it (only the memory step writes there): the
                // daemon takes over from here, while the restore goes on with files and kernel state (LazyHandoff#hand).
                for (Task t : tasks) {
                    clock.run(t.pid(), "handing the userfaultfd to the lazy-pages daemon",
                            () -> lazy.get(t.pid()).handOver(options.lazyPages(), t.leader().pid()));
                }
            }
            clock.run(img.root().pid(), "IPC namespace", () -> ipc.finish(tasks.getFirst().leader().pid()));
            cancel.check();
            List<Member> members = new ArrayList<>();
            tasks.forEach(t -> members.add(new Member(t.img().pstree(), t.leader())));
            zombies.forEach(z -> members.add(new Member(z.img().pstree(), z.puppet())));
            processGroups(members);
            for (Task t : tasks) {
                if (t.img().isSessionLeader()) {
                    clock.run(t.pid(), "terminal's foreground group", () -> TaskFiles.foregroundGroup(t.leader(), store, t.pid()));
                }
            }
            // Zombies end before their parents' own state is restored: the SIGCHLD that each parent gets is taken
            // (and dropped) at its next injected call; the original parent had its own long before the dump.
            for (Dead z : zombies) {
                CoreEntry parent = img.process(z.img().pstree().getPpid()).orElseThrow().leaderCore();
                clock.run(z.pid(), "ending as a zombie", () -> ZombieRestore.end(z.puppet(), z.img(), parent));
            }
            for (Task t : tasks) {
                // listeners and named datagram sockets first, in their own tasks: any task may connect to them
                clock.run(t.pid(), "sockets", () -> TaskFiles.prepareSockets(t.leader(), store, t.pid(), t.img().leaderCore(), net));
            }
            for (Task t : tasks) {
                filesAndKernelState(t, net);
                cancel.check();
            }
            TaskFiles.abandon(store); // every task has its files: cryo's copies go
            for (Task t : tasks) {
                clock.run(t.pid(), "registers", () -> registers(t));
            }
            cancel.check();
            // A restore from the image cache began while the images travelled: no task runs unless the dump completed
            if (store instanceof RemoteImageStore) {
                clock.run(img.root().pid(), "waiting for the dump's end", store::settle);
                clock.run(img.root().pid(), "checking images", () -> ImageConsistency.checkThreadWords(store, img));
            }
            // Repaired TCP connections talk again, and the dump's network lock goes, before any task runs.
            clock.run(img.root().pid(), "TCP connections", net::resume);
            if (options.lazyPages() != null) {
                clock.run(img.root().pid(), "the lazy-pages daemon's answer", options.lazyPages()::confirm);
            }
            // Release together: nothing of the tree runs before every task is complete.
            if (nsInit != null) {
                nsInit.resumeAt(PuppetStub.REAP);
            }
            StopPoints.reach("restore:release");
            options.listener().releasing();
            long releasing = System.nanoTime();
            for (Task t : tasks) {
                t.threads().forEach(Puppet::release);
                StopPoints.reach("restore:released-one");
            }
            keeper.commit();
            clock.add("release", System.nanoTime() - releasing);
            StopPoints.reach("restore:released");
            if (options.lazyPages() != null) {
                options.lazyPages().released();
            }
            return new Restored(tasks.getFirst().leader().pid(), pages[0]);
        }
    }

    /**
     * Clones process {@code p} from its parent's puppet, builds its memory, then its children and threads.
     * A child is cloned once its parent's private memory is in place, as fork had it.
     */
    private void createProcess(TreeImages tree, ProcessImages p, Puppet parent, MemoryRestore layout, Puppets all,
                               List<Task> tasks, List<Dead> zombies, long[] pages) {
        int pid = p.pid();
        long namespaces = p == tree.root() ? ipc.cloneFlags() : 0;
        Puppet leader = all.add(clock.run(pid, "creating the process",
                () -> parent.cloneProcess(options.samePid() ? pid : 0, namespaces)));
        keeper.register(leader.tid());
        if (namespaces != 0) {
            clock.run(pid, "IPC namespace", () -> ipc.fill(leader.pid()));
        }
        options.listener().processCreated(leader.pid());
        List<Puppet> threads = new ArrayList<>(List.of(leader));
        Task task = new Task(p, leader, threads);
        tasks.add(task);
        if (p.isSessionLeader()) {
            clock.run(pid, "setsid", () -> leader.syscall("setsid", Kernel.__NR_setsid));
            if (store.exists(ImageKind.TTY_INFO.fileName())) {
                awaitLazySource(pid); // the original's terminal, on this host, is free only then
            }
            clock.run(pid, "controlling terminal", () -> TaskFiles.takeTerminal(leader, store, pid));
        }
        // A zombie needs none of its parent's memory: cloned before it is built, it copies only the puppet's few pages.
        for (Zombie z : tree.zombiesOf(pid)) {
            Puppet dead = all.add(clock.run(z.pid(), "creating the zombie",
                    () -> leader.cloneProcess(options.samePid() ? z.pid() : 0)));
            keeper.register(dead.tid());
            if (z.isSessionLeader()) {
                clock.run(z.pid(), "setsid", () -> dead.syscall("setsid", Kernel.__NR_setsid));
            }
            zombies.add(new Dead(z, dead));
        }
        pages[0] += clock.run(pid, "memory", () -> memory(leader, p, tree, layout));
        cancel.check();
        for (ProcessImages child : tree.childrenOf(pid)) {
            createProcess(tree, child, leader, layout, all, tasks, zombies, pages);
        }
        for (int tid : p.otherThreads()) {
            threads.add(all.add(clock.run(tid, "creating the thread",
                    () -> leader.cloneThread(options.samePid() ? tid : 0))));
        }
    }

    /** A lazy restore, before it first needs what the original may hold: its handoff's {@link dev.cryo.restore.LazyHandoff#awaitSource}. */
    private void awaitLazySource(int pid) {
        if (options.lazyPages() != null && !sourceAwaited) {
            sourceAwaited = true;
            clock.run(pid, "waiting for the lazy pages' source", options.lazyPages()::awaitSource);
        }
    }

    /** The task's address space: the puppet's mappings go, the dumped ones come with their pages. */
    private long memory(Puppet p, ProcessImages img, TreeImages tree, MemoryRestore layout) {
        ProcessImages parent = img == tree.root() ? null : tree.process(img.pstree().getPpid()).orElseThrow();
        LazyProcess lp = null;
        if (options.lazyPages() != null) {
            lp = LazyProcess.of(img.pid(), img.mm(), List.copyOf(img.cores().values()),
                    parent == null ? null : lazy.get(parent.pid()), parent == null ? null : parent.mm(),
                    options.lazyPages().placesParentPages());
            lazy.put(img.pid(), lp);
        }
        return layout.build(p, store, pages.of(img.pid()), img.pid(), img.mm(), parent == null ? null : pages.of(parent.pid()),
                parent == null ? null : parent.mm(),
                tree.paths(), tree.paths().get(img.mm().getExeFileId()), filledShared,
                (fileId, flags) -> TaskFiles.openMemfd(p, store, fileId, flags), lp);
    }


    /**
     * setpgid inside each process (zombies too, before they end), the group leaders first so that the members
     * have a group to join. A group or session whose leader is outside the tree (a shell job: the root's) is
     * the restorer's, inherited. Then each process's session and group are checked from inside it, as it sees
     * them. {@code members} starts with the root.
     */
    private void processGroups(List<Member> members) {
        Map<Integer, Integer> ids = new HashMap<>();
        members.forEach(m -> ids.put(m.pid(), m.leader().nsPid()));
        for (boolean leaders : new boolean[] {true, false}) {
            for (Member m : members) {
                int pgid = m.pstree().getPgid();
                boolean leads = pgid == m.pid();
                if (leads != leaders || !ids.containsKey(pgid) || m.leadsSession()) {
                    continue;
                }
                clock.run(m.pid(), "process group " + pgid,
                        () -> m.leader().syscall("setpgid", Kernel.__NR_setpgid, 0, leads ? 0 : ids.get(pgid)));
            }
        }
        Member root = members.getFirst();
        for (Member m : members) {
            clock.run(m.pid(), "session and group", () -> {
                check("session", m.pstree().getSid(), root.pstree().getSid(), ids,
                        m.leader().syscall("getsid", Kernel.__NR_getsid, 0), root.leader().syscall("getsid", Kernel.__NR_getsid, 0));
                check("process group", m.pstree().getPgid(), root.pstree().getPgid(), ids,
                        m.leader().syscall("getpgid", Kernel.__NR_getpgid, 0), root.leader().syscall("getpgid", Kernel.__NR_getpgid, 0));
            });
        }
    }

    /**
     * A task's session (or group) must be the one at dump: its leader's, when the leader is in the tree;
     * the root's, when it was the root's outside the tree; anything else needs helper tasks cryo lacks.
     */
    private static void check(String what, int dumped, int rootDumped, Map<Integer, Integer> ids, long now, long rootNow) {
        long expected;
        if (ids.containsKey(dumped)) {
            expected = ids.get(dumped);
        } else if (dumped == rootDumped) {
            expected = rootNow; // a shell job's: the restorer's, shared with the root
        } else {
            throw new RestoreError(what + " " + dumped + " has no leader in the dump and is not the root's;"
                    + " restoring it needs a helper task, which cryo does not create");
        }
        if (now != expected) {
            throw new RestoreError(what + " is " + now + " after restore, expected " + expected
                    + " (its leader is not an ancestor, which needs a helper task cryo does not create)");
        }
    }

    /**
     * Files and kernel state of one process (fds, then signal handlers), and each thread's own kernel
     * state, while the trampoline is still there.
     */
    private void filesAndKernelState(Task t, NetworkRestore net) {
        clock.run(t.pid(), "files", () -> stdioToDevNull(t.leader()));
        clock.run(t.pid(), "fd limit", () -> TaskState.raiseFileLimit(t.leader().pid(), t.img().leaderCore()));
        clock.run(t.pid(), "fds", () -> TaskFiles.restore(t.leader(), store, t.pid(), t.img().leaderCore(), net));
        CoreEntry core = t.img().leaderCore();
        clock.run(t.pid(), "signal handlers", () -> ThreadRestore.sigactions(t.leader(), core.getTc().getSigactionsList()));
        for (Puppet th : t.threads()) {
            int tid = th == t.leader() ? t.pid() : t.img().otherThreads().get(t.threads().indexOf(th) - 1);
            clock.run(tid, "thread state", () -> ThreadRestore.kernelState(th, t.img().cores().get(tid)));
            if (th != t.leader()) {
                clock.run(tid, "thread scheduling, signals and credentials",
                        () -> TaskState.thread(th, t.img().cores().get(tid), core));
            }
        }
        clock.run(t.pid(), "task state", () -> TaskState.restore(t.leader(), store, t.pid(), t.img().leaderCore()));
    }

    /** The trampoline goes (the memory is shared by the threads), then every thread gets its registers. */
    private static void registers(Task t) {
        t.leader().removeTrampoline();
        for (int i = 0; i < t.threads().size(); i++) {
            int tid = i == 0 ? t.pid() : t.img().otherThreads().get(i - 1);
            ThreadRestore.registers(t.threads().get(i), t.img().cores().get(tid));
        }
    }

    /**
     * The puppet's stdout is the pipe it told its pid through; fds 0-2 become /dev/null until fds are
     * restored from fdinfo images.
     */
    private static void stdioToDevNull(Puppet p) {
        int fd = p.open("/dev/null", Kernel.O_RDWR | Kernel.O_CLOEXEC, 0);
        try (CallBatch b = new CallBatch(p)) {
            for (int i = 0; i <= 2; i++) {
                if (fd != i) {
                    b.add("dup2", Kernel.__NR_dup2, fd, i);
                }
            }
            if (fd > 2) {
                b.add("close", Kernel.__NR_close, fd);
            }
            b.run();
        }
    }
}
