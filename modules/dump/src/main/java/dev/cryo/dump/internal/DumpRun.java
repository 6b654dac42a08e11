package dev.cryo.dump.internal;

import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import dev.cryo.bindings.Linux;
import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.images.EntryWriter;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.proto.TaskCoreEntry;
import dev.cryo.images.proto.TaskKobjIdsEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.images.proto.ThreadInfoX86;
import dev.cryo.pagepipe.BufferPool;
import dev.cryo.pagepipe.ReadCollector;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageServerException;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.FrozenTree;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.StopPoints;
import dev.cryo.parasite.Tracee;
import dev.cryo.parasite.Tracer;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Proc;

/**
 * One dump, start to end: check the request, freeze the tree, collect each process (parasite cured before
 * its pages are copied), write the images with inventory.img last, release. Any failure removes the images.
 */
public final class DumpRun {
    /** CRTOOLS_IMAGES_V1_1, the image version CRIU writes. */
    private static final int IMG_VERSION = 2;
    private static final int BUFFERS = 4;
    private static final long BUFFER_SIZE = 4L << 20;

    private final DumpOptions options;
    private final Cancellation cancel;
    private final ImageStore store;
    /** Where the images go, the run's own: confirmed there before the tree is killed. */
    private final StepImages images;
    private final FileTable files;
    private final AtomicLong pagesDone = new AtomicLong();
    private long pagesTotal;
    private long pagesScanned;
    private long pagesInParent;
    private long memdumpNanos;
    /** The previous snapshot (--prev-images-dir), or null. */
    private PreviousStep previous = PreviousStep.NONE;
    /** Where every page goes: the images directory, or a page server. */
    private PageDestination pages;
    private String tracker = "none";

    private DumpRun(DumpOptions options, Cancellation cancel, ImageStore store, StepImages images) {
        this.options = options;
        this.cancel = cancel;
        this.store = store;
        this.images = images;
        this.files = new FileTable(options.fileLocks());
    }

    public static DumpStats run(DumpOptions options, Cancellation cancel) throws DumpException {
        Preflight.check(options);
        // Whatever way the run ends, but for SIGKILL, the directory keeps only a complete dump (see DumpDirectory);
        // with --remote, the image proxy and cache drop a snapshot that was not complete (RemoteSnapshot).
        try (StepImages dir = StepImages.claim(options, "dump", cancel)) {
            ImageStore store = dir.store();
            DumpRun run = new DumpRun(options, cancel, store, dir);
            try {
                long warmUp = options.warmUp() ? WarmUp.once(null, options.listener(), cancel) : 0;
                long start = System.nanoTime();
                run.previous = dir.previous(options);
                try (PageDestination pages = destination(store, options, run.previous, cancel)) {
                    run.pages = pages;
                    DumpStats stats = Tracer.call("dump-" + options.pid(), run::dumpTree);
                    dir.complete();
                    return stats.withTimes(System.nanoTime() - start, warmUp);
                }
            } catch (Exception e) {
                throw explain(options.pid(), e);
            }
        }
    }

    /** Chosen once for the whole dump: the images directory, or a page server (connected here, before the tree is touched). */
    static PageDestination destination(ImageStore store, DumpOptions options, PreviousStep previous, Cancellation cancel) {
        if (options.pageServer() == null) {
            return PageDestination.images(store, previous.store());
        }
        PageDestination d = PageDestination.pageServer(options.pageServer(), store, previous.store(), cancel::check);
        options.listener().log("pages go to " + d.describe());
        return d;
    }

    static DumpException explain(int pid, Exception e) {
        if (e instanceof DumpException d) {
            if (!d.getMessage().startsWith("cannot dump pid " + pid + ":") && !alive(pid)) {
                // killed under the dump: whatever step noticed it first, that is the reason
                return new DumpException("cannot dump pid " + pid + ": it ended during the dump (" + d.getMessage() + ")", d);
            }
            return d;
        }
        String why = switch (e) {
            case Proc.TaskGoneException t -> t.getMessage() + " during the dump";
            case Cancellation.CancelledException c -> "dump " + c.getMessage() + "; pid " + pid + " was released";
            default -> CryoFailure.describe(e);
        };
        return new DumpException("cannot dump pid " + pid + ": " + why, e);
    }


    private DumpStats dumpTree() throws Exception {
        long frozen;
        int processes;
        int threads;
        String freezer;
        try (FrozenTree tree = FrozenTree.freeze(options.pid(), cancel);
             Arena arena = Arena.ofShared();
             BufferPool pool = new BufferPool(BUFFERS, BUFFER_SIZE)) {
            options.listener().log("froze " + tree.processes().size() + " processes, " + tree.threadCount() + " threads"
                    + (tree.zombies().isEmpty() ? "" : "; " + tree.zombies().size() + " zombies " + tree.zombies()));
            checkSession(tree);
            files.ptyMasters(PtyDumper.mastersIn(tree.processes().keySet()));
            Map<Integer, Collected> collected = new LinkedHashMap<>();
            for (int pid : tree.processes().keySet()) {
                cancel.check();
                collected.put(pid, collect(tree, pid, arena));
            }
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
                    e.setValue(new Collected(c.ids, c.cores, c.tids, c.mm, c.fds, c.fs,
                            CowSharing.apply(e.getKey(), c.mm, c.plan, tree.parentOf(e.getKey()), parent.mm)));
                }
            }
            pagesTotal = collected.values().stream().mapToLong(c -> c.plan.present()).sum();
            pagesScanned = collected.values().stream().mapToLong(c -> c.plan.scanned()).sum();
            pagesInParent = collected.values().stream().mapToLong(c -> c.plan.inParent()).sum();
            ReadCollector reader = new ReadCollector(pool);
            long memStart = System.nanoTime();
            for (Map.Entry<Integer, Collected> c : collected.entrySet()) {
                try (PageSink sink = pages.open(PagemapType.PROCESS, c.getKey())) {
                    long t0 = System.nanoTime();
                    ReadCollector.Result r = MemoryCollector.writePages(c.getKey(), c.getValue().plan, sink, reader, cancel::check, this::pagesWritten);
                    options.listener().log(String.format("pid %d: %d pages written in %.1f ms",
                            c.getKey(), r.pages(), (System.nanoTime() - t0) / 1e6));
                    StopPoints.reach("pages");
                }
            }
            Map<Integer, MmEntry> mms = new LinkedHashMap<>();
            collected.forEach((pid, c) -> mms.put(pid, c.mm));
            for (Map.Entry<Integer, VmaEntry> shared : SharedMemoryDump.objects(mms).values()) {
                cancel.check();
                SharedMemoryDump.write(pages, shared.getKey(), shared.getValue(), pool);
            }
            memdumpNanos = System.nanoTime() - memStart;
            writeTreeImages(tree, collected, zombies);
            options.listener().log("images written");
            images.confirm(); // with --remote: once the image cache holds every image, and only then, may the tree go
            if (options.remote() != null) {
                options.listener().log("the image cache holds every image");
            }
            cancel.check();
            if (!options.leaveRunning()) {
                tree.killOnRelease();
            }
            processes = tree.processes().size() + zombies.size();
            threads = tree.threadCount();
            tree.close();
            StopPoints.reach("released");
            frozen = tree.frozenNanos();
            freezer = tree.freezer();
        }
        return new DumpStats(frozen, memdumpNanos, 0, pagesScanned, pagesTotal, processes, threads, pagesInParent, 0, tracker,
                freezer, 0);
    }

    /** Neither gone nor a zombie. */
    private static boolean alive(int pid) {
        try {
            return Proc.stat(pid).state() != 'Z';
        } catch (Proc.TaskGoneException | UncheckedIOException e) {
            return false;
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

    private void pagesWritten(long pages) {
        options.listener().pages(pagesDone.addAndGet(pages), pagesTotal);
    }

    /** Everything of one process but its pages. */
    private record Collected(TaskKobjIdsEntry ids, List<CoreEntry> cores, List<Integer> tids, MmEntry mm,
                             List<FdinfoEntry> fds, FsEntry fs, MemoryCollector.Plan plan) {}

    private Collected collect(FrozenTree tree, int pid, Arena arena) throws DumpException {
        List<Tracee> threads = tree.processes().get(pid);
        // Read the mappings before the parasite adds its own.
        List<Vma> vmas = Vma.read(pid);
        for (Vma v : vmas) {
            if (v.path().startsWith("/SYSV")) {
                // restored as plain shared memory, it would be cut off from the segment other processes attach
                throw new DumpException("cannot dump pid " + pid + ": mapping 0x" + Long.toHexString(v.start())
                        + " is SysV shared memory (key 0x" + v.path().substring(5, Math.min(v.path().length(), 13)) + ", shmid "
                        + v.inode() + "), which cryo does not dump");
            }
        }
        // Named after the pid: restore's ImageConsistency tells a core that is another task's by its vm_id.
        TaskKobjIdsEntry ids = TaskKobjIdsEntry.newBuilder().setVmId(pid).setFilesId(pid).setFsId(pid).setSighandId(pid).build();
        List<CoreEntry> cores = new ArrayList<>();
        List<Integer> tids = new ArrayList<>();
        MmEntry mm;
        TaskTracker written = null;
        Map<Integer, ThreadInfoX86.Builder> registers = new LinkedHashMap<>();
        for (Tracee t : threads) {
            ThreadInfoX86.Builder r = ThreadCollector.registers(t, previous.calls());
            if (r.getGpregs().getOrigAx() == Linux.__NR_restart_syscall()) {
                options.listener().log("tid " + t.tid() + " is in restart_syscall of a call no pre-dump of this chain saw;"
                        + " restored, that call returns EINTR");
            }
            registers.put(t.tid(), r);
        }
        options.listener().log("pid " + pid + ": registers read");
        try (Parasite parasite = Parasite.infect(threads.getFirst())) {
            options.listener().log("pid " + pid + ": parasite in");
            if (!parasite.unprotectedThreads().isEmpty()) {
                options.listener().log("pid " + pid + ": threads " + parasite.unprotectedThreads()
                        + " have no cure frame (no vDSO padding, or no room below their stack pointer): if cryo died now, they would die too");
            }
            TaskCollector.Creds creds = TaskCollector.Creds.of(parasite);
            for (Tracee t : threads) {
                ThreadCollector.Collected th = ThreadCollector.collect(t, registers.get(t.tid()), parasite, creds);
                CoreEntry.Builder core = CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64)
                        .setThreadInfo(th.info()).setThreadCore(th.core());
                if (t.tid() == pid) {
                    TaskCoreEntry tc = TaskCollector.taskCore(pid, parasite, t.wasStopped(), th.core().getBlkSigset());
                    core.setTc(tc).setIds(ids);
                }
                cores.add(core.build());
                tids.add(t.tid());
            }
            options.listener().log("pid " + pid + ": threads collected");
            mm = MemoryCollector.mm(pid, vmas, files, parasite, arena);
            options.listener().log("pid " + pid + ": mm collected");
            if (previous.exists()) {
                // Taken out of the task (and closed there) before its fds are collected.
                written = TaskTracker.forDump(parasite, previous.trackers(), previous.cleared());
            }
            // Trackers of pre-dumps that this dump does not continue are cryo's, not the application's.
            List<Integer> left = TaskTracker.closeLeftovers(parasite);
            if (!left.isEmpty()) {
                options.listener().log("pid " + pid + ": closed the write trackers that earlier pre-dumps left at fds " + left);
            }
        }
        options.listener().log("pid " + pid + ": parasite cured");
        List<FdinfoEntry> fds = FdCollector.collect(pid, files, arena);
        String cwd = dev.cryo.syscalls.Io.readlink("/proc/" + pid + "/cwd");
        String root = dev.cryo.syscalls.Io.readlink("/proc/" + pid + "/root");
        int dirFlags = Linux.O_RDONLY() | Linux.O_DIRECTORY();
        FsEntry fs = FsEntry.newBuilder().setCwdId(files.pathId(cwd, dirFlags)).setRootId(files.pathId(root, dirFlags))
                .setUmask(Integer.parseInt(Proc.status(pid, "Umask"), 8)).build();
        MemoryCollector.Plan plan;
        if (written != null) {
            try (TaskTracker t = written) {
                tracker = t.name();
                plan = MemoryCollector.plan(pid, vmas, t, MemoryCollector.held(pages, pid), List.of());
            }
        } else {
            if (previous.exists()) {
                options.listener().log("pid " + pid + ": no write tracking since " + options.prevImagesDir() + "; all its pages are written");
            }
            plan = MemoryCollector.plan(pid, vmas);
        }
        options.listener().log("pid " + pid + ": " + threads.size() + " threads, " + vmas.size() + " mappings, "
                + fds.size() + " fds, " + plan.present() + " pages to write, " + plan.inParent() + " in the parent");
        return new Collected(ids, cores, tids, mm, fds, fs, plan);
    }

    private void writeTreeImages(FrozenTree tree, Map<Integer, Collected> collected, Map<Integer, CoreEntry> zombies) {
        try (EntryWriter pstree = store.openWriter(ImageKind.PSTREE)) {
            for (Map.Entry<Integer, Collected> e : collected.entrySet()) {
                int pid = e.getKey();
                Collected c = e.getValue();
                pstree.write(pstreeEntry(tree, pid, c.tids));
                for (int i = 0; i < c.cores.size(); i++) {
                    store.writeEntry(ImageKind.CORE, c.tids.get(i), c.cores.get(i));
                }
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
                pstree.write(pstreeEntry(tree, z.getKey(), List.of(z.getKey())));
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
        // Every page is where it goes (a page server has confirmed it) before the dump is called complete.
        pages.commit();
        // inventory.img last: a directory without it holds no complete dump.
        store.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(IMG_VERSION)
                .setFdinfoPerId(true).setNsPerId(true).setRootIds(collected.get(tree.root()).ids).build());
    }

    /** A process's place in the tree: parent, process group and session as /proc shows them (a zombie's too). */
    private static PstreeEntry pstreeEntry(FrozenTree tree, int pid, List<Integer> tids) {
        Proc.Stat stat = Proc.stat(pid);
        return PstreeEntry.newBuilder().setPid(pid).setPpid(tree.parentOf(pid))
                .setPgid((int) stat.longField(5)).setSid((int) stat.longField(6)).addAllThreads(tids).build();
    }

    /** Checks of the request made before anything is touched: each failure is a one-line reason. */
    static final class Preflight {
        /** flags in /proc/PID/stat (proc(5)), and PF_KTHREAD of include/linux/sched.h: not in bindings' UAPI headers. */
        private static final int STAT_FLAGS = 9;
        private static final long PF_KTHREAD = 0x00200000;

        static void check(DumpOptions o) throws DumpException {
            int pid = o.pid();
            long self = ProcessHandle.current().pid();
            if (pid <= 0) {
                throw new DumpException("cannot dump pid " + pid + ": not a process id");
            }
            if (pid == 1) {
                throw new DumpException("cannot dump pid 1: it is init, and freezing it would freeze the system");
            }
            if (pid == self) {
                throw new DumpException("cannot dump pid " + pid + ": it is cryo itself");
            }
            if (!Files.isDirectory(Path.of("/proc/" + pid))) {
                throw new DumpException("cannot dump pid " + pid + ": no such process");
            }
            char state;
            try {
                state = Proc.stat(pid).state();
            } catch (Proc.TaskGoneException e) {
                throw new DumpException("cannot dump pid " + pid + ": no such process");
            }
            if (state == 'Z') {
                throw new DumpException("cannot dump pid " + pid + ": it is a zombie (it has exited and waits for its parent)");
            }
            seizable(pid);
            for (ProcessHandle h = ProcessHandle.current().parent().orElse(null); h != null; h = h.parent().orElse(null)) {
                if (h.pid() == pid) {
                    throw new DumpException("cannot dump pid " + pid + ": it is an ancestor of cryo");
                }
            }
            // the images directory is checked when the run claims it (DumpDirectory)
        }

        /**
         * Refuses, before anything is frozen, what PTRACE_SEIZE would refuse with a bare EPERM: a kernel
         * thread (it has no user memory to dump), and a task of the tree that another tracer holds already
         * (a task has one tracer: a debugger, strace, another cryo).
         */
        private static void seizable(int pid) throws DumpException {
            try {
                Proc.Stat stat = Proc.stat(pid);
                if ((stat.longField(STAT_FLAGS) & PF_KTHREAD) != 0) {
                    throw new DumpException("cannot dump pid " + pid + ": it is a kernel thread (" + stat.comm()
                            + "), which has no user memory to dump");
                }
                List<Integer> tree = new ArrayList<>(List.of(pid));
                for (int i = 0; i < tree.size(); i++) {
                    int p = tree.get(i);
                    for (int tid : Proc.threads(p)) {
                        int by = tracer(p, tid);
                        if (by != 0) {
                            by = process(by); // TracerPid names the tracing thread
                            String who = p == pid && tid == pid ? "it is"
                                    : p == pid ? "its thread " + tid + " is"
                                    : "pid " + p + (tid == p ? "" : " (thread " + tid + ")") + " of its tree is";
                            throw new DumpException("cannot dump pid " + pid + ": " + who + " already traced by pid " + by
                                    + " (" + comm(by) + "), and a task has one tracer; detach that one first");
                        }
                        tree.addAll(Proc.children(p, tid));
                    }
                }
            } catch (Proc.TaskGoneException gone) {
                // a task that exits now is the freeze's business: it waits for the tree to settle
            }
        }

        /** TracerPid of thread {@code tid}: 0 when nobody traces it. */
        private static int tracer(int pid, int tid) {
            for (String line : Proc.read(pid, "task/" + tid + "/status").split("\n")) {
                if (line.startsWith("TracerPid:")) {
                    return Integer.parseInt(line.substring("TracerPid:".length()).trim());
                }
            }
            return 0;
        }

        /** The process that thread {@code tid} belongs to. */
        private static int process(int tid) {
            try {
                String tgid = Proc.status(tid, "Tgid");
                return tgid == null ? tid : Integer.parseInt(tgid);
            } catch (RuntimeException e) {
                return tid;
            }
        }

        private static String comm(int pid) {
            try {
                return Proc.stat(pid).comm();
            } catch (RuntimeException e) {
                return "?";
            }
        }
    }
}
