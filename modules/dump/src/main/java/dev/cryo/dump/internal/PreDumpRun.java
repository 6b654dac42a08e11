package dev.cryo.dump.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.images.ImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.TaskKobjIdsEntry;
import dev.cryo.pagepipe.BufferPool;
import dev.cryo.pagepipe.PageRange;
import dev.cryo.pagepipe.ReadCollector;
import dev.cryo.pagepipe.SpliceCollector;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.FrozenTree;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.StopPoints;
import dev.cryo.parasite.Tracer;
import dev.cryo.syscalls.KernelFeatures;

/**
 * One pre-dump: freeze the tree, and per process take (or create) its write tracker and plan its pages;
 * in splice mode the process vmsplices them into pipes before it is released; then release the tree and
 * copy the pages while it runs (read mode: pread on /proc/PID/mem; splice mode: drain the pipes). Writes
 * pagemap-PID.img, pages-N.img, the tracker record, the record of calls stopped for restart_syscall
 * ({@link InterruptedCalls}) and inventory.img (last), linked to the previous
 * snapshot when there is one.
 */
public final class PreDumpRun {
    private static final int BUFFERS = 4;
    private static final long BUFFER_SIZE = 4L << 20;

    private final DumpOptions options;
    private final Cancellation cancel;
    private final ImageStore store;
    /** Where the images go, the run's own. */
    private final StepImages images;
    private PreviousStep previous = PreviousStep.NONE;
    /** Where every page goes: the images directory, or a page server. */
    private PageDestination pages;

    /** One process between freeze and copy; its plan is made while frozen in splice mode, after in read mode. */
    private record Step(int pid, List<Vma> vmas, TaskTracker tracker, List<PageRange> registered,
                        MemoryCollector.Plan plan, PageSink sink, SpliceCollector spliced) implements AutoCloseable {
        Step withPlan(MemoryCollector.Plan p) {
            return new Step(pid, vmas, tracker, registered, p, sink, spliced);
        }

        @Override
        public void close() {
            try (tracker; sink) {
                if (spliced != null) {
                    spliced.close();
                }
            }
        }
    }

    private PreDumpRun(DumpOptions options, Cancellation cancel, ImageStore store, StepImages images) {
        this.options = options;
        this.cancel = cancel;
        this.store = store;
        this.images = images;
    }

    public static DumpStats run(DumpOptions options, Cancellation cancel) throws DumpException {
        DumpRun.Preflight.check(options);
        try (StepImages dir = StepImages.claim(options, "pre-dump", cancel)) {
            ImageStore store = dir.store();
            PreDumpRun run = new PreDumpRun(options, cancel, store, dir);
            try {
                long warmUp = options.warmUp() ? WarmUp.once(options.preDumpMode(), options.listener(), cancel) : 0;
                long start = System.nanoTime();
                run.previous = dir.previous(options);
                try (PageDestination pages = DumpRun.destination(store, options, run.previous, cancel)) {
                    run.pages = pages;
                    DumpStats s = Tracer.call("pre-dump-" + options.pid(), run::preDump);
                    dir.complete();
                    return s.withTimes(System.nanoTime() - start, warmUp);
                }
            } catch (Exception e) {
                DumpException d = DumpRun.explain(options.pid(), e);
                throw new DumpException(d.getMessage().replaceFirst("^cannot dump", "cannot pre-dump"), e);
            }
        }
    }

    private DumpStats preDump() throws Exception {
        boolean splice = options.preDumpMode() == PreDumpMode.SPLICE;
        // What the previous snapshot holds, read before the tree is frozen.
        Map<Integer, List<PageRange>> held = new LinkedHashMap<>();
        for (int pid : union(previous.trackers().keySet(), previous.cleared().keySet())) {
            held.put(pid, MemoryCollector.held(pages, pid));
        }
        List<Step> steps = new ArrayList<>();
        Map<Integer, TaskTracker.Kept> trackers = new LinkedHashMap<>();
        Map<Integer, Long> cleared = new LinkedHashMap<>();
        String trackerName = KernelFeatures.dirtyTracker().label();
        InterruptedCalls calls = new InterruptedCalls();
        long frozen;
        long memdumpNanos;
        long written = 0;
        long scanned = 0;
        long inParent = 0;
        long peakPinned = 0;
        int processes;
        int threads;
        String freezer;
        try (BufferPool pool = new BufferPool(BUFFERS, BUFFER_SIZE)) {
            try {
                long memStart;
                try (FrozenTree tree = FrozenTree.freeze(options.pid(), cancel)) {
                    for (int pid : tree.processes().keySet()) {
                        cancel.check();
                        calls.note(tree.processes().get(pid), previous.calls());
                        steps.add(freezeStep(tree, pid, splice, pool, held.getOrDefault(pid, List.of())));
                        TaskTracker tracker = steps.getLast().tracker();
                        trackerName = tracker.name();
                        if (tracker.kept() != null) {
                            trackers.put(pid, tracker.kept());
                        } else {
                            cleared.put(pid, tracker.started());
                        }
                    }
                    processes = tree.processes().size();
                    threads = tree.threadCount();
                    memStart = System.nanoTime();
                    tree.close(); // released here, not at the end of the block: the copy runs while the tree does
                    StopPoints.reach("released");
                    frozen = tree.frozenNanos();
                    freezer = tree.freezer();
                }
                // The tree runs again: copy its pages.
                ReadCollector reader = new ReadCollector(pool);
                for (int k = 0; k < steps.size(); k++) {
                    cancel.check();
                    Step s = steps.get(k);
                    if (s.spliced() != null) {
                        s.spliced().drain(cancel::check);
                        peakPinned += s.spliced().peakPinnedBytes();
                    } else {
                        if (s.plan() == null) {
                            // uffd-wp: scanning after the release is safe: each page is re-armed before it is copied,
                            // so a write after the scan is seen by the next step, and one before it is in the copy.
                            s = s.withPlan(MemoryCollector.plan(s.pid(), s.vmas(), s.tracker(), held.getOrDefault(s.pid(), List.of()),
                                    s.registered()));
                            steps.set(k, s);
                        }
                        s.sink().begin(s.plan().runs());
                        Step t = s;
                        long total = s.plan().present();
                        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
                        ReadCollector.Result r = reader.collect(s.pid(), s.plan().ranges(), batch -> {
                            t.sink().write(batch.data());
                            options.listener().pages(done.addAndGet(batch.data().byteSize() / PageRange.PAGE_SIZE), total);
                        }, cancel::check, true);
                        if (r.vanished() > 0) {
                            // Unmapped pages read as zeros; a task that exited reads as nothing at all.
                            checkAlive(s.pid());
                            options.listener().log("pid " + s.pid() + ": " + r.vanished() + " pages were unmapped during the copy");
                        }
                    }
                    s.sink().commit();
                    StopPoints.reach("pages");
                    written += s.plan().present();
                    scanned += s.plan().scanned();
                    inParent += s.plan().inParent();
                    options.listener().log("pid " + s.pid() + ": " + s.vmas().size() + " mappings, " + s.plan().present()
                            + " pages written, " + s.plan().inParent() + " in the parent");
                }
                memdumpNanos = System.nanoTime() - memStart;
            } finally {
                for (Step s : steps) {
                    s.close();
                }
            }
        }
        // Every page is where it goes (a page server has confirmed it) before the records and inventory.img.
        pages.commit();
        if (!trackers.isEmpty()) {
            TaskTracker.writeRecord(store, trackers);
        }
        if (!cleared.isEmpty()) {
            TaskTracker.writeSoftDirtyRecord(store, cleared);
        }
        calls.write(store);
        int root = options.pid();
        store.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).setFdinfoPerId(true)
                .setNsPerId(true).setPreDumpMode(options.preDumpMode().inventoryValue())
                .setRootIds(TaskKobjIdsEntry.newBuilder().setVmId(root).setFilesId(root).setFsId(root).setSighandId(root))
                .build());
        images.confirm(); // with --remote: the image cache holds every image of the step
        return new DumpStats(frozen, memdumpNanos, 0, scanned, written, processes, threads, inParent, peakPinned,
                trackerName, freezer, 0);
    }

    /**
     * What one process needs while frozen: its mappings and its tracker (taken from outside when a previous
     * step left one; the parasite runs only to create one, and in splice mode to vmsplice the pages).
     */
    private Step freezeStep(FrozenTree tree, int pid, boolean splice, BufferPool pool,
                            List<PageRange> parentHolds) throws Exception {
        List<Vma> vmas = Vma.readMaps(pid);
        if (KernelFeatures.dirtyTracker() == KernelFeatures.DirtyTracker.SOFT_DIRTY) {
            return softDirtyStep(tree, pid, vmas, splice, pool, parentHolds);
        }
        TaskTracker tracker = splice ? null : TaskTracker.find(pid, previous.trackers().get(pid));
        PageSink sink = null;
        SpliceCollector spliced = null;
        try {
            sink = pages.open(PagemapType.PROCESS, pid);
            if (tracker != null) {
                return new Step(pid, vmas, tracker, MemoryCollector.registerUntracked(vmas, tracker), null, sink, null);
            }
            try (Parasite parasite = Parasite.infect(tree.leader(pid))) {
                tracker = TaskTracker.forPreDump(parasite, previous.trackers());
                if (tracker == null) {
                    throw new DumpException("cannot pre-dump pid " + pid + ": this kernel tracks no written pages"
                            + " (no soft-dirty, and userfaultfd refuses UFFD_FEATURE_WP_ASYNC), so a pre-dump would save nothing;"
                            + " dump it directly");
                }
                List<PageRange> registered = MemoryCollector.registerUntracked(vmas, tracker);
                if (!splice) {
                    return new Step(pid, vmas, tracker, registered, null, sink, null);
                }
                MemoryCollector.Plan plan = MemoryCollector.plan(pid, vmas, tracker, parentHolds, registered);
                spliced = splice(parasite, plan, sink, pool);
                return new Step(pid, vmas, tracker, registered, plan, sink, spliced);
            }
        } catch (Exception | Error e) {
            discard(spliced, sink, tracker);
            throw e;
        }
    }

    /**
     * {@link #freezeStep} where the kernel tracks writes with soft-dirty: the written pages are looked at and
     * the bits cleared while the tree is stopped (a write between the two would be lost), so the plan is made
     * here in both modes; the parasite runs only in splice mode.
     */
    private Step softDirtyStep(FrozenTree tree, int pid, List<Vma> vmas, boolean splice, BufferPool pool,
                               List<PageRange> parentHolds) throws Exception {
        TaskTracker tracker = TaskTracker.softDirty(pid, previous.cleared());
        PageSink sink = null;
        SpliceCollector spliced = null;
        try {
            sink = pages.open(PagemapType.PROCESS, pid);
            List<PageRange> registered = MemoryCollector.registerUntracked(vmas, tracker);
            MemoryCollector.Plan plan = MemoryCollector.plan(pid, vmas, tracker, parentHolds, registered);
            tracker.rearm();
            if (splice) {
                try (Parasite parasite = Parasite.infect(tree.leader(pid))) {
                    spliced = splice(parasite, plan, sink, pool);
                }
            }
            return new Step(pid, vmas, tracker, registered, plan, sink, spliced);
        } catch (Exception | Error e) {
            discard(spliced, sink, tracker);
            throw e;
        }
    }

    /** Splice mode: the process vmsplices the plan's pages into pipes, which {@code sink} drains after the release. */
    private SpliceCollector splice(Parasite parasite, MemoryCollector.Plan plan, PageSink sink, BufferPool pool) throws Exception {
        sink.begin(plan.runs());
        SpliceCollector spliced = new SpliceCollector(parasite, pool, batch -> sink.write(batch.data()));
        try {
            spliced.splice(plan.ranges(), cancel::check);
            return spliced;
        } catch (Exception | Error e) {
            spliced.close();
            throw e;
        }
    }

    /** Closes what a step had made when it fails (any may be null), last made first. */
    private static void discard(SpliceCollector spliced, PageSink sink, TaskTracker tracker) {
        try (tracker; sink; spliced) {
            // nothing more: closing is the point
        }
    }

    private static java.util.Set<Integer> union(java.util.Set<Integer> a, java.util.Set<Integer> b) {
        java.util.Set<Integer> all = new java.util.LinkedHashSet<>(a);
        all.addAll(b);
        return all;
    }

    private static void checkAlive(int pid) throws DumpException {
        boolean alive;
        try {
            alive = dev.cryo.syscalls.Proc.stat(pid).state() != 'Z';
        } catch (dev.cryo.syscalls.Proc.TaskGoneException e) {
            alive = false;
        }
        if (!alive) {
            throw new DumpException("cannot pre-dump pid " + pid + ": it exited while its pages were copied");
        }
    }

}
