package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.MemdumpMode;
import dev.cryo.images.EntryWriter;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.proto.TaskCoreEntry;
import dev.cryo.images.proto.TaskKobjIdsEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.images.proto.ThreadInfoX86;
import dev.cryo.pagepipe.BufferPool;
import dev.cryo.pagepipe.ReadCollector;
import dev.cryo.dump.LazyServing;
import dev.cryo.pagexfer.LazyMemory;
import dev.cryo.pagexfer.LazyPageServer;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.FrozenTree;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.StopPoints;
import dev.cryo.parasite.Tracee;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;

/**
 * One dump, within the frame every step shares ({@link DumpStep}: checks, images directory, warm-up, parent
 * link, page destination, failures): freeze the tree, collect each process (its parasite left in until its pages
 * are spliced, unless in read mode), write the images with inventory.img last (with --remote the pages last), release. Any failure removes the
 * images.
 */
public final class DumpRun {
    /**
     * Page buffers: four, so that reading and writing overlap. 1 MiB each rather than 4: the pool is touched
     * whole by any tree with more than its size of pages, and 16 MiB of it was the largest part of the peak
     * RSS that a big tree added; a 1 GiB dump copied its pages no slower with 1 MiB (memdump 773 vs 1232 ms,
     * medians of 5 interleaved runs at load 16-25).
     */
    private static final int BUFFERS = 4;
    private static final long BUFFER_SIZE = 1L << 20;
    /** inventory_entry.network_lock_method: CRIU's NETWORK_LOCK_NFTABLES, the way cryo locks connections. */
    private static final int NETWORK_LOCK_NFTABLES = 1;
    private static final int NETWORK_LOCK_SKIP = 2;
    /**
     * In AUTO mode, the fewest pages of a process that go the splice way (4 MiB), and only to a page server: a
     * process's pipe costs five injected calls or so, more than copying 1 MiB twice (128 processes of 1 MiB, by
     * the command line: 0.85-1.18 s of memdump spliced against 0.29-0.49 s read). Into a local pages image the
     * read way is the faster on a quiet machine (1 GiB 619 against 791 ms, 64 MiB memdump 30.2 against 34.5 ms:
     * each pipe-full is one injected vmsplice), across a veth the splice way (1 GiB 924 against 1215 ms).
     */
    private static final long SPLICE_FROM = 1024;

    private final DumpStep.Context step;
    private final DumpOptions options;
    private final Cancellation cancel;
    private final ImageStore store;
    private final FileTable files;
    private final AtomicLong pagesDone = new AtomicLong();
    private long pagesTotal;
    private final DumpStats.Builder stats = DumpStats.builder();
    /** The previous snapshot (--prev-images-dir), or {@link PreviousStep#NONE}. */
    private final PreviousStep previous;
    /** Where every page goes: the images directory, or a page server. */
    private final PageDestination pages;
    /** --lazy-pages: where the daemon connects (listening from the start), and what it is served. */
    private final LazyPageServer lazyServer;
    private final Map<Integer, List<long[]>> lazyRanges = new LinkedHashMap<>();
    private long pagesLazy;
    private long lazyBytesServed;

    private DumpRun(DumpStep.Context step) {
        this.step = step;
        this.options = step.options();
        this.cancel = step.cancel();
        this.store = step.store();
        this.previous = step.previous();
        this.pages = step.pages();
        this.lazyServer = step.lazy();
        this.files = new FileTable(options.fileLocks());
    }

    public static DumpStats run(DumpOptions options, Cancellation cancel) throws DumpException {
        return DumpStep.run(DumpStep.Kind.DUMP, options, cancel, c -> new DumpRun(c).dumpTree());
    }

    private DumpStats.Builder dumpTree() throws Exception {
        DumpOptions.Network net = options.network();
        Map<Integer, Vma.Ahead> ahead = options.mappingsAhead() ? mappingsAhead(options.pid()) : Map.of();
        try (Trackers trackers = new Trackers(); // closed after the tree's release, off its frozen time
             FrozenTree tree = FrozenTree.freeze(options.pid(), cancel);
             Arena arena = Arena.ofShared();
             BufferPool pool = new BufferPool(BUFFERS, BUFFER_SIZE);
             // closed before the tree is released: connections put into repair mode talk again, unless killed with it
             SocketTable sockets = new SocketTable(net.tcpEstablished(), net.tcpClose(), net.extUnixSk(), net.lock(), options.pid(), options.listener());
             // closed first: every parasite is cured before the sockets and the tree are let go
             KeptParasites parasites = new KeptParasites()) {
            options.listener().log("froze " + tree.processes().size() + " processes, " + tree.threadCount() + " threads"
                    + (tree.zombies().isEmpty() ? "" : "; " + tree.zombies().size() + " zombies " + tree.zombies()));
            checkSession(tree);
            IpcNamespaceDump ipc = IpcNamespaceDump.of(tree.root(), tree.processes().keySet());
            files.ptyMasters(PtyDumper.mastersIn(tree.processes().keySet()));
            Map<Integer, Collected> collected = new LinkedHashMap<>();
            for (int pid : tree.processes().keySet()) {
                cancel.check();
                collected.put(pid, collect(tree, pid, ahead.get(pid), sockets, arena, ipc, parasites, trackers));
            }
            sockets.checkPeers(files).forEach(files::add);
            // A zombie has only its core: no memory, files or threads to collect.
            Map<Integer, CoreEntry> zombies = new LinkedHashMap<>();
            for (int pid : tree.zombies()) {
                zombies.put(pid, CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64).setTc(TaskCollector.deadTaskCore(pid)).build());
                options.listener().log("pid " + pid + ": a zombie, exit status 0x" + Integer.toHexString(zombies.get(pid).getTc().getExitCode()));
            }
            // Pages a child still shares with its parent go once, with the parent (parents come first).
            for (Map.Entry<Integer, Collected> e : collected.entrySet()) {
                Collected parent = collected.get(tree.parentOf(e.getKey()));
                if (parent != null) {
                    Collected c = e.getValue();
                    e.setValue(new Collected(c.ids, c.tids, c.threadPages, c.mm, c.fds, c.fs,
                            CowSharing.apply(e.getKey(), c.mm, c.plan, tree.parentOf(e.getKey()), parent.mm)));
                }
            }
            if (lazyServer != null) {
                // Private anonymous memory stays in the tree, for the daemon; the rest goes to the images as always.
                for (Map.Entry<Integer, Collected> e : collected.entrySet()) {
                    Collected c = e.getValue();
                    MemoryCollector.LazyPlan lp = MemoryCollector.leaveLazy(c.plan, LazyMemory.withThreadPages(c.mm, c.threadPages));
                    e.setValue(new Collected(c.ids, c.tids, c.threadPages, c.mm, c.fds, c.fs, lp.eager()));
                    lazyRanges.put(e.getKey(), lp.lazy().stream().map(r -> new long[] {r.start(), r.end()}).toList());
                    pagesLazy += dev.cryo.pagepipe.PageRanges.pages(lp.lazy());
                }
            }
            pagesTotal = collected.values().stream().mapToLong(c -> c.plan.present()).sum();
            collected.forEach((pid, c) -> stats.pages(pid, c.plan.scanned(), c.plan.present(), c.plan.inParent()));
            Map<Integer, MmEntry> mms = new LinkedHashMap<>();
            collected.forEach((pid, c) -> mms.put(pid, c.mm));
            // read while frozen, after that the tree's pgid and sid, and a zombie's stat, may change or go
            List<PstreeEntry> pstree = pstreeEntries(tree, collected, zombies);
            HeldPages held = step.held();
            if (held != null) {
                boolean ready = held.ready();
                if (parasites.isEmpty() && !ipc.own() && SharedMemoryDump.objects(mms).isEmpty() && held.fits(pagesTotal)) {
                    if (ready) {
                        return dumpHeld(tree, held, collected, zombies, pstree, ipc, sockets);
                    }
                    options.listener().log("pages not held: their memory was not touched in time, or touching it was dear; written while frozen");
                }
            }
            ReadCollector reader = new ReadCollector(pool);
            long memStart = System.nanoTime();
            // With --remote a restore may read the images as they come: everything but the processes' pages goes
            // first, every pagemap with its pages image's size announced, then the inventory (after it nothing
            // begins: the cache knows which images there are; its COMPLETE, not the inventory, says that the
            // snapshot is whole), then the pages. Into a directory the inventory goes last, the mark of a complete dump.
            boolean streamed = options.remote() != null;
            Map<Integer, PageSink> published = new LinkedHashMap<>();
            try {
                if (streamed) {
                    writeTreeImages(collected, zombies, pstree);
                    writeSharedMemory(mms, ipc, pool);
                    for (Map.Entry<Integer, Collected> c : collected.entrySet()) {
                        PageSink sink = pages.open(PagemapType.PROCESS, c.getKey());
                        published.put(c.getKey(), new Published(sink, c.getValue().plan.runs()));
                        sink.begin(c.getValue().plan.runs());
                        sink.publish();
                    }
                    writeInventory(ipc);
                    options.listener().log("images but the pages written");
                }
                writeProcessPages(collected, parasites, reader, published);
                if (!streamed) {
                    writeSharedMemory(mms, ipc, pool);
                }
            } finally {
                published.values().forEach(PageSink::close);
            }
            stats.memdump(System.nanoTime() - memStart);
            if (!streamed) {
                writeTreeImages(collected, zombies, pstree);
            }
            // Every page is where it goes (a page server has confirmed it) before the dump is called complete.
            pages.commit();
            if (!streamed) {
                writeInventory(ipc);
            }
            options.listener().log("images written");
            step.images().confirm(); // with --remote: once the image cache holds every image, and only then, may the tree go
            if (options.remote() != null) {
                options.listener().log("the image cache holds every image");
            }
            cancel.check();
            if (options.handover() != null && lazyServer == null) {
                // live migration: the tree dies only once its copy runs on the destination; until then it may run on here
                options.handover().await();
            }
            if (lazyServer != null) {
                serveLazily(tree, mms, sockets);
            }
            if (!options.leaveRunning()) {
                tree.killOnRelease();
                sockets.keepForRestore();
            }
            sockets.close();
            int processes = tree.processes().size() + zombies.size();
            tree.close();
            StopPoints.reach("released");
            return stats.tree(tree.frozenNanos(), tree.freezer(), processes, tree.threadCount()).lazy(pagesLazy, lazyBytesServed);
        }
    }

    /**
     * Each process's pages, the splice way where its parasite was kept for it, else read and written; into the
     * sinks {@code published} ahead (a --remote dump), else into sinks opened here.
     */
    private void writeProcessPages(Map<Integer, Collected> collected, KeptParasites parasites, ReadCollector reader,
                                   Map<Integer, PageSink> published) throws Exception {
        for (Map.Entry<Integer, Collected> c : collected.entrySet()) {
            PageSink ahead = published.remove(c.getKey());
            try (PageSink sink = ahead != null ? ahead : pages.open(PagemapType.PROCESS, c.getKey())) {
                long t0 = System.nanoTime();
                MemoryCollector.Plan plan = c.getValue().plan;
                Parasite parasite = parasites.take(c.getKey());
                boolean splice = parasite != null && spliced(plan, sink);
                String how = "read and written";
                if (splice) {
                    try (parasite) {
                        how = "spliced (" + MemoryCollector.splicePages(parasite, plan, sink, cancel::check, this::pagesWritten) + ")";
                    }
                } else {
                    if (parasite != null) {
                        parasite.close();
                    }
                    MemoryCollector.writePages(c.getKey(), plan, sink, reader, cancel::check, this::pagesWritten);
                }
                options.listener().log(String.format("pid %d: %d pages %s in %.1f ms, parasite cured", c.getKey(), plan.present(),
                        how, (System.nanoTime() - t0) / 1e6));
                StopPoints.reach("pages");
            }
        }
    }

    /** Shared anonymous memory (by object) and the IPC namespace's images. */
    private void writeSharedMemory(Map<Integer, MmEntry> mms, IpcNamespaceDump ipc, BufferPool pool) throws Exception {
        for (Map.Entry<Integer, VmaEntry> shared : SharedMemoryDump.objects(mms).values()) {
            cancel.check();
            SharedMemoryDump.write(pages, shared.getKey(), shared.getValue(), pool);
        }
        options.listener().log(ipc.write(store, mms, pool));
    }

    /**
     * A sink whose runs were begun and published ahead of its pages (a --remote dump): the collector's begin,
     * with the same runs, finds them there.
     */
    private record Published(PageSink sink, List<PageSink.Run> runs) implements PageSink {
        @Override
        public void begin(List<Run> again) {
            if (!again.equals(runs)) {
                throw new IllegalStateException("pages of runs other than those published");
            }
        }

        @Override
        public void write(java.lang.foreign.MemorySegment data) {
            sink.write(data);
        }

        @Override
        public boolean takesPipes() {
            return sink.takesPipes();
        }

        @Override
        public void writeFromPipe(dev.cryo.syscalls.Fd pipe, long bytes) {
            sink.writeFromPipe(pipe, bytes);
        }

        @Override
        public void commit() {
            sink.commit();
        }

        @Override
        public void close() {
            sink.close();
        }
    }

    /**
     * The rest of a dump whose pages are held in memory ({@link HeldPages}; --leave-running, images in a
     * directory): each process's pages are read while the tree is frozen, and written meanwhile by the held
     * pages' writer; the tree is released once they are read, and the writes, then the other images, are
     * finished after. Every image comes from what was collected while frozen.
     */
    private DumpStats.Builder dumpHeld(FrozenTree tree, HeldPages held, Map<Integer, Collected> collected,
                                       Map<Integer, CoreEntry> zombies, List<PstreeEntry> pstree, IpcNamespaceDump ipc,
                                       SocketTable sockets) throws Exception {
        int processes = tree.processes().size() + zombies.size();
        try {
            long memStart = System.nanoTime();
            for (Map.Entry<Integer, Collected> c : collected.entrySet()) {
                long t0 = System.nanoTime();
                MemoryCollector.Plan plan = c.getValue().plan;
                held.read(c.getKey(), plan, pages, cancel::check, this::pagesWritten);
                options.listener().log(String.format("pid %d: %d pages read into memory in %.1f ms, written from there", c.getKey(),
                        plan.present(), (System.nanoTime() - t0) / 1e6));
                StopPoints.reach("pages");
            }
            options.listener().log(ipc.write(store, Map.of(), null));
            stats.memdump(System.nanoTime() - memStart);
            cancel.check();
            sockets.close();
            tree.close();
            StopPoints.reach("released");
            long writeStart = System.nanoTime();
            held.finish(cancel::check);
            options.listener().log(String.format("pages written in %.1f ms after the release", (System.nanoTime() - writeStart) / 1e6));
            stats.memwrite(System.nanoTime() - writeStart);
        } catch (Throwable t) {
            held.stop(); // before the page destination closes under its writer
            throw t;
        }
        writeTreeImages(collected, zombies, pstree);
        pages.commit();
        writeInventory(ipc);
        options.listener().log("images written");
        step.images().confirm();
        return stats.tree(tree.frozenNanos(), tree.freezer(), processes, tree.threadCount()).lazy(0, 0);
    }

    /**
     * Post-copy: waits for the lazy-pages daemon (a cancel until then releases the tree as it was, and the
     * images go), then serves it the tree's lazy memory from the frozen tree itself until it says CLOSE. From
     * the daemon's connection on the tree is committed: a restored copy may run, so the original must never
     * run again. It dies with the dump however the dump ends (PTRACE_O_EXITKILL, even for a SIGKILLed cryo).
     */
    private void serveLazily(FrozenTree tree, Map<Integer, MmEntry> mms, SocketTable sockets) {
        options.listener().servingLazyPages(lazyServer.where());
        String peer = lazyServer.accept(cancel::check);
        // from here on the images are the daemon's: a failure must not take them away
        step.images().complete();
        options.listener().lazyDaemonConnected(peer);
        tree.killOnRelease();
        // repaired connections die silently with the original's fds below (the lock stays, for the restore to lift)
        sockets.keepForRestore();
        sockets.close();
        long dieWithCryo = Kernel.PTRACE_O_TRACESYSGOOD | Kernel.PTRACE_O_EXITKILL;
        tree.processes().values().forEach(ts -> ts.forEach(t -> dev.cryo.syscalls.Ptrace.setOptions(t.tid(), dieWithCryo)));
        SourceRelease.keepOnlyLazyMemory(tree, mms);
        options.listener().log("lazy-pages daemon " + peer + " connected: the tree keeps only its lazy memory, and is killed"
                + " once the daemon has it");
        StopPoints.reach("lazy-serving");
        try (TreeMemory memory = new TreeMemory()) {
            LazyPageServer.Session s = lazyServer.serve(lazyRanges, memory::read);
            lazyBytesServed = s.bytes();
            options.listener().log(String.format("served %d pages (%d GETs) to %s in %.1f ms; read through /proc/PID/mem: %d shared,"
                    + " %d refused by process_vm_readv", s.pages(), s.gets(), s.peer(), s.nanos() / 1e6, memory.sharedPages(),
                    memory.forcedPages()));
        }
    }

    /**
     * A tree whose session leader is outside it (a command started from a shell) can only be restored into
     * the session and terminal of whoever restores it: CRIU calls that a shell job and asks for --shell-job.
     */
    private void checkSession(FrozenTree tree) throws DumpException {
        int sid = (int) Proc.stat(tree.root()).longField(6);
        if (!options.shellJob() && !tree.processes().containsKey(sid)) {
            throw new DumpException("cannot dump pid " + tree.root() + ": its session leader (pid " + sid
                    + ") is outside the tree; it is a shell job, dump it with --shell-job");
        }
    }

    /**
     * Whether a process's pages go the splice way (the task vmsplices them, cryo splices them on): only where
     * the sink takes pipes (a pages image in a directory, a plain page-server socket), and in AUTO mode only
     * to a page server, for a process of {@link #SPLICE_FROM} pages or more (its parasite was kept only then; see
     * docs/benchmarks.md, "Dump: splice or read").
     */
    /**
     * Whether AUTO's pages go to a page server whose socket takes them from a pipe: a plain one (the page
     * sink's {@code takesPipes}, known here before the sink is opened); over TLS cryo must encrypt the bytes.
     */
    private boolean splicesToPageServer() {
        // the image proxy's unix socket takes pipes too (--remote): the pages go on by reference to the TCP link
        return options.pageServer() != null && options.pageServer().tls() == null || options.remote() != null;
    }

    /** --memdump-mode read, or held (which reads when it cannot hold). */
    private boolean reads() {
        return options.memdumpMode() == MemdumpMode.READ || options.memdumpMode() == MemdumpMode.HELD;
    }

    private boolean spliced(MemoryCollector.Plan plan, PageSink sink) {
        return plan.present() > 0 && sink.takesPipes() && !reads();
    }

    /**
     * The write trackers the final dump took out of its processes. Closing cryo's copy, the last reference once
     * the process's own is closed, unregisters every tracked range: the kernel walks the whole tracked memory
     * (51 ms for 2 GiB) with the process's mm locked. After the release that is no frozen time; and a process
     * killed by then has no mm left to walk.
     */
    private static final class Trackers implements AutoCloseable {
        private final List<TaskTracker> taken = new ArrayList<>();

        void add(TaskTracker t) {
            taken.add(t);
        }

        @Override
        public void close() {
            taken.forEach(TaskTracker::close);
            taken.clear();
        }
    }

    /**
     * Parasites left in the processes after their collection, until their pages are spliced (each is taken
     * and cured then); whatever is left is cured when the dump ends, before the tree is released, last
     * infected first.
     */
    private static final class KeptParasites implements AutoCloseable {
        private final LinkedHashMap<Integer, Parasite> kept = new LinkedHashMap<>();

        void keep(int pid, Parasite p) {
            kept.put(pid, p);
        }

        boolean isEmpty() {
            return kept.isEmpty();
        }

        /** The parasite of {@code pid}, now the caller's to close; null if none was kept. */
        Parasite take(int pid) {
            return kept.remove(pid);
        }

        @Override
        public void close() {
            RuntimeException failure = null;
            for (Parasite p : kept.sequencedValues().reversed()) {
                try {
                    p.close();
                } catch (RuntimeException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            kept.clear();
            if (failure != null) {
                throw failure;
            }
        }
    }

    private void pagesWritten(long pages) {
        options.listener().pages(pagesDone.addAndGet(pages), pagesTotal);
    }

    /**
     * Everything of one process but its pages and its threads' cores, which went to their images as each
     * thread was collected (held until the end, the cores of a 5000-thread tree were 20 MB of heap); of
     * those, a lazy dump keeps only the pages each thread needs before its first instruction.
     */
    private record Collected(TaskKobjIdsEntry ids, List<Integer> tids, List<long[]> threadPages, MmEntry mm,
                             List<FdinfoEntry> fds, FsEntry fs, MemoryCollector.Plan plan) {}

    /**
     * The mappings of {@code root} and of its descendants, read while they run ({@link DumpOptions#mappingsAhead}):
     * a process that forks or exits meanwhile is found, or not, by the freeze, and one without a read ahead reads its
     * mappings frozen.
     */
    private Map<Integer, Vma.Ahead> mappingsAhead(int root) {
        long start = System.nanoTime();
        Map<Integer, Vma.Ahead> out = new HashMap<>();
        ArrayDeque<Integer> queue = new ArrayDeque<>(List.of(root));
        while (!queue.isEmpty() && out.size() < MAPPINGS_AHEAD_MAX) {
            int pid = queue.poll();
            try {
                for (int tid : Proc.threads(pid)) {
                    queue.addAll(Proc.children(pid, tid));
                }
                out.putIfAbsent(pid, Vma.readAhead(pid));
            } catch (CryoFailure e) {
                // gone, or not readable now: the freeze says what the tree is, and its mappings are read frozen
            }
        }
        options.listener().log(String.format("mappings of %d processes read before the freeze in %.1f ms", out.size(),
                (System.nanoTime() - start) / 1e6));
        return out;
    }

    /** At most so many processes' mappings are read ahead: each holds its list until its collection. */
    private static final int MAPPINGS_AHEAD_MAX = 64;

    private Collected collect(FrozenTree tree, int pid, Vma.Ahead ahead, SocketTable sockets, Arena arena, IpcNamespaceDump ipc,
                              KeptParasites parasites, Trackers trackers) throws DumpException {
        List<Tracee> threads = tree.processes().get(pid);
        // Read the mappings before the parasite adds its own: smaps, or the check of what was read ahead.
        List<Vma> vmas = Vma.read(pid, ahead);
        if (ahead != null) {
            options.listener().log("pid " + pid + ": mappings " + (vmas == ahead.vmas() ? "as read before the freeze" : "changed since read before the freeze: read again"));
        }
        for (Vma v : vmas) {
            if (v.path().startsWith("/SYSV") && !ipc.own()) {
                // restored as plain shared memory, it would be cut off from the segment other processes attach
                throw new DumpException("cannot dump pid " + pid + ": mapping 0x" + Long.toHexString(v.start())
                        + " is SysV shared memory (key 0x" + v.path().substring(5, Math.min(v.path().length(), 13)) + ", shmid "
                        + v.inode() + ") of cryo's own IPC namespace, which processes outside the tree may share; cryo dumps"
                        + " SysV IPC only with an IPC namespace of the tree's own (unshare --ipc)");
            }
        }
        // Named after the pid: restore's ImageConsistency tells a core that is another task's by its vm_id.
        TaskKobjIdsEntry ids = DumpStep.ids(pid).toBuilder().setIpcNsId(ipc.id()).build();
        List<Integer> tids = new ArrayList<>();
        List<long[]> threadPages = new ArrayList<>();
        MmEntry mm;
        Optional<TaskTracker> written = Optional.empty();
        Tracee leader = threads.getFirst();
        // Each thread's registers are read before the parasite runs anything in it: the leader's before the
        // parasite goes in, the others' just before their first call (reading them all first held every
        // thread's registers until the end).
        ThreadInfoX86.Builder leaderRegisters = registers(leader);
        Parasite parasite = Parasite.infect(leader);
        try {
            options.listener().log("pid " + pid + ": parasite in");
            if (!parasite.unprotectedThreads().isEmpty()) {
                options.listener().log("pid " + pid + ": threads " + parasite.unprotectedThreads()
                        + " have no cure frame (no vDSO padding, or no room below their stack pointer): if cryo died now, they would die too");
            }
            TaskCollector.Asked asked = TaskCollector.ask(parasite);
            TaskCollector.Creds creds = new TaskCollector.Creds(asked.securebits());
            for (Tracee t : threads) {
                ThreadInfoX86.Builder r = t == leader ? leaderRegisters : registers(t);
                ThreadCollector.Collected th = ThreadCollector.collect(t, r, parasite, creds);
                parasite.cure(t);
                CoreEntry.Builder core = CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64)
                        .setThreadInfo(th.info()).setThreadCore(th.core());
                if (t.tid() == pid) {
                    TaskCoreEntry tc = TaskCollector.taskCore(pid, asked, t.wasStopped(), th.core().getBlkSigset());
                    core.setTc(tc).setIds(ids);
                }
                CoreEntry built = core.build();
                store.writeEntry(ImageKind.CORE, t.tid(), built);
                if (lazyServer != null) {
                    threadPages.addAll(LazyMemory.threadPages(built));
                }
                tids.add(t.tid());
            }
            options.listener().log("pid " + pid + ": threads collected");
            mm = MemoryCollector.mm(pid, vmas, files, asked.brk(), asked.dumpable(), arena);
            options.listener().log("pid " + pid + ": mm collected");
            if (previous.exists()) {
                // Taken out of the task (and closed there) before its fds are collected.
                written = TaskTracker.forDump(parasite, previous);
                written.ifPresent(trackers::add);
            }
            // Trackers of pre-dumps that this dump does not continue are cryo's, not the application's.
            List<Integer> left = UffdTracker.closeLeftovers(parasite);
            if (!left.isEmpty()) {
                options.listener().log("pid " + pid + ": closed the write trackers that earlier pre-dumps left at fds " + left);
            }
            if (reads()) {
                parasite.close();
                options.listener().log("pid " + pid + ": parasite cured");
            }
        } catch (Throwable t) {
            try {
                parasite.close();
            } catch (RuntimeException again) {
                t.addSuppressed(again);
            }
            throw t;
        }
        try {
            return collectRest(pid, threads, vmas, ids, tids, threadPages, mm, written, sockets, arena, parasite, parasites);
        } catch (Throwable t) {
            try {
                parasite.close(); // cured already (read mode, a small process) or not kept: nothing done
            } catch (RuntimeException again) {
                t.addSuppressed(again);
            }
            throw t;
        }
    }

    /**
     * What is collected after the parasite's work: fds, cwd and root, the pages' plan. The parasite (cured
     * already in read mode) is then kept for the splice path if the process has pages enough, else cured.
     */
    private Collected collectRest(int pid, List<Tracee> threads, List<Vma> vmas, TaskKobjIdsEntry ids, List<Integer> tids,
                                  List<long[]> threadPages, MmEntry mm, Optional<TaskTracker> written, SocketTable sockets, Arena arena,
                                  Parasite parasite, KeptParasites parasites) throws DumpException {
        List<FdinfoEntry> fds = FdCollector.collect(pid, files, sockets, arena);
        String cwd = dev.cryo.syscalls.Io.readlink("/proc/" + pid + "/cwd");
        String root = dev.cryo.syscalls.Io.readlink("/proc/" + pid + "/root");
        int dirFlags = Kernel.O_RDONLY | Kernel.O_DIRECTORY;
        FsEntry fs = FsEntry.newBuilder().setCwdId(files.pathId(cwd, dirFlags)).setRootId(files.pathId(root, dirFlags))
                .setUmask(Integer.parseInt(Proc.status(pid, "Umask"), 8)).build();
        MemoryCollector.Plan plan;
        if (written.isPresent()) {
            TaskTracker t = written.get();
            stats.tracker(t.kind());
            plan = MemoryCollector.plan(pid, vmas, t, MemoryCollector.held(pages, pid), List.of());
        } else {
            if (previous.exists()) {
                options.listener().log("pid " + pid + ": no write tracking since " + options.prevImagesDir() + "; all its pages are written");
            }
            plan = MemoryCollector.plan(pid, vmas);
        }
        options.listener().log("pid " + pid + ": " + threads.size() + " threads, " + vmas.size() + " mappings, "
                + fds.size() + " fds, " + plan.present() + " pages to write, " + plan.inParent() + " in the parent");
        MemdumpMode mode = options.memdumpMode();
        if (mode == MemdumpMode.SPLICE || (mode == MemdumpMode.AUTO && splicesToPageServer() && plan.present() >= SPLICE_FROM)) {
            // left in until the pages are spliced: infecting the task again would cost more than the copy it saves
            parasites.keep(pid, parasite);
        } else if (mode == MemdumpMode.AUTO) {
            parasite.close();
            options.listener().log("pid " + pid + ": parasite cured");
        }
        return new Collected(ids, tids, threadPages, mm, fds, fs, plan);
    }

    /** The thread's own registers and FPU state, as a restore loads them. */
    private ThreadInfoX86.Builder registers(Tracee t) {
        ThreadInfoX86.Builder r = ThreadCollector.registers(t, previous.calls());
        if (r.getGpregs().getOrigAx() == Kernel.__NR_restart_syscall) {
            options.listener().log("tid " + t.tid() + " is in restart_syscall of a call no pre-dump of this chain saw;"
                    + " restored, that call returns EINTR");
        }
        return r;
    }

    /** The pstree entries of the processes, then of the zombies, as the frozen tree shows them. */
    private static List<PstreeEntry> pstreeEntries(FrozenTree tree, Map<Integer, Collected> collected, Map<Integer, CoreEntry> zombies) {
        List<PstreeEntry> out = new ArrayList<>();
        collected.forEach((pid, c) -> out.add(pstreeEntry(tree, pid, c.tids)));
        zombies.keySet().forEach(pid -> out.add(pstreeEntry(tree, pid, List.of(pid))));
        return out;
    }

    private void writeTreeImages(Map<Integer, Collected> collected, Map<Integer, CoreEntry> zombies, List<PstreeEntry> pstreeEntries) {
        try (EntryWriter pstree = store.openWriter(ImageKind.PSTREE)) {
            for (PstreeEntry p : pstreeEntries) {
                pstree.write(p);
            }
            for (Map.Entry<Integer, Collected> e : collected.entrySet()) {
                int pid = e.getKey();
                Collected c = e.getValue();
                store.writeEntry(ImageKind.MM, pid, c.mm);
                store.writeEntry(ImageKind.FS, pid, c.fs);
                try (EntryWriter fd = store.openWriter(ImageKind.FDINFO, c.ids.getFilesId())) {
                    for (FdinfoEntry f : c.fds) {
                        fd.write(f);
                    }
                    fd.commit();
                }
            }
            for (Map.Entry<Integer, CoreEntry> z : zombies.entrySet()) {
                store.writeEntry(ImageKind.CORE, z.getKey(), z.getValue());
            }
            pstree.commit();
        }
        try (EntryWriter w = store.openWriter(ImageKind.FILES)) {
            for (FileEntry f : files.entries()) {
                w.write(f);
            }
            w.commit();
        }
        try (EntryWriter w = store.openWriter(ImageKind.PIPES_DATA)) {
            for (FileTable.PipeData d : files.pipeData()) {
                w.write(PipeDataEntry.newBuilder().setPipeId((int) d.pipeId()).setBytes((int) d.bytes().byteSize())
                        .setSize(d.capacity()).build());
                if (d.bytes().byteSize() > 0) {
                    w.writePayload(d.bytes());
                }
            }
            w.commit();
        }
        files.writeDataImages(store, pages);
    }

    private void writeInventory(IpcNamespaceDump ipc) {
        // root_ids name cryo's own IPC namespace, as CRIU's name its own: another in the cores means a new one at restore
        step.writeInventory(inventory -> inventory.setRootIds(inventory.getRootIds().toBuilder().setIpcNsId(ipc.cryosId()))
                .setTcpClose(options.network().tcpClose())
                .setNetworkLockMethod(options.network().lock() ? NETWORK_LOCK_NFTABLES : NETWORK_LOCK_SKIP));
    }

    /** A process's place in the tree: parent, process group and session as /proc shows them (a zombie's too). */
    private static PstreeEntry pstreeEntry(FrozenTree tree, int pid, List<Integer> tids) {
        Proc.Stat stat = Proc.stat(pid);
        return PstreeEntry.newBuilder().setPid(pid).setPpid(tree.parentOf(pid))
                .setPgid((int) stat.longField(5)).setSid((int) stat.longField(6)).addAllThreads(tids).build();
    }
}
