package dev.cryo.dump.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.cryo.dump.DirtyTracker;
import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.pagepipe.BufferPool;
import dev.cryo.pagepipe.PageRange;
import dev.cryo.pagepipe.ReadCollector;
import dev.cryo.pagepipe.SpliceCollector;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.FrozenTree;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.StopPoints;
import dev.cryo.syscalls.Page;

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

    private final DumpStep.Context step;
    private final DumpOptions options;
    private final Cancellation cancel;

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

    private PreDumpRun(DumpStep.Context step) {
        this.step = step;
        this.options = step.options();
        this.cancel = step.cancel();
    }

    public static DumpStats run(DumpOptions options, Cancellation cancel) throws DumpException {
        return DumpStep.run(DumpStep.Kind.PRE_DUMP, options, cancel, c -> new PreDumpRun(c).preDump());
    }

    private DumpStats.Builder preDump() throws Exception {
        boolean splice = options.preDumpMode() == PreDumpMode.SPLICE;
        // What the previous snapshot holds, read before the tree is frozen.
        Map<Integer, List<PageRange>> held = new LinkedHashMap<>();
        for (int pid : union(step.previous().trackers().keySet(), step.previous().cleared().keySet())) {
            held.put(pid, MemoryCollector.held(step.pages(), pid));
        }
        List<Step> steps = new ArrayList<>();
        Map<Integer, UffdTracker.Kept> trackers = new LinkedHashMap<>();
        Map<Integer, Long> cleared = new LinkedHashMap<>();
        InterruptedCalls calls = new InterruptedCalls();
        DumpStats.Builder stats = DumpStats.builder();
        try (BufferPool pool = new BufferPool(BUFFERS, BUFFER_SIZE)) {
            try {
                long memStart;
                try (FrozenTree tree = FrozenTree.freeze(options.pid(), cancel)) {
                    for (int pid : tree.processes().keySet()) {
                        cancel.check();
                        calls.note(tree.processes().get(pid), step.previous().calls());
                        steps.add(freezeStep(tree, pid, splice, pool, held.getOrDefault(pid, List.of())));
                        TaskTracker tracker = steps.getLast().tracker();
                        stats.tracker(tracker.kind());
                        switch (tracker) {
                            case UffdTracker u -> trackers.put(pid, u.kept());
                            case SoftDirtyTracker s -> cleared.put(pid, s.started());
                        }
                    }
                    memStart = System.nanoTime();
                    tree.close(); // released here, not at the end of the block: the copy runs while the tree does
                    StopPoints.reach("released");
                    stats.tree(tree.frozenNanos(), tree.freezer(), tree.processes().size(), tree.threadCount());
                }
                // The tree runs again: copy its pages.
                ReadCollector reader = new ReadCollector(pool);
                for (int k = 0; k < steps.size(); k++) {
                    cancel.check();
                    Step s = steps.get(k);
                    if (s.spliced() != null) {
                        s.spliced().drain(cancel::check);
                        stats.pinned(s.spliced().peakPinnedBytes());
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
                            options.listener().pages(done.addAndGet(batch.data().byteSize() / Page.SIZE), total);
                        }, cancel::check, true);
                        if (r.vanished() > 0) {
                            // Unmapped pages read as zeros; a task that exited reads as nothing at all.
                            checkAlive(s.pid());
                            options.listener().log("pid " + s.pid() + ": " + r.vanished() + " pages were unmapped during the copy");
                        }
                    }
                    s.sink().commit();
                    StopPoints.reach("pages");
                    stats.pages(s.pid(), s.plan().scanned(), s.plan().present(), s.plan().inParent());
                    options.listener().log("pid " + s.pid() + ": " + s.vmas().size() + " mappings, " + s.plan().present()
                            + " pages written, " + s.plan().inParent() + " in the parent");
                }
                stats.memdump(System.nanoTime() - memStart);
            } finally {
                for (Step s : steps) {
                    s.close();
                }
            }
        }
        // Every page is where it goes (a page server has confirmed it) before the records and inventory.img.
        step.pages().commit();
        if (!trackers.isEmpty()) {
            UffdTracker.writeRecord(step.store(), trackers);
        }
        if (!cleared.isEmpty()) {
            SoftDirtyTracker.writeRecord(step.store(), cleared);
        }
        calls.write(step.store());
        step.writeInventory(inventory -> inventory.setPreDumpMode(options.preDumpMode().inventoryValue()));
        step.images().confirm(); // with --remote: the image cache holds every image of the step
        return stats;
    }

    /**
     * What one process needs while frozen: its mappings and its tracker (taken from outside when a previous
     * step left one; the parasite runs only to create one, and in splice mode to vmsplice the pages).
     */
    private Step freezeStep(FrozenTree tree, int pid, boolean splice, BufferPool pool,
                            List<PageRange> parentHolds) throws Exception {
        List<Vma> vmas = Vma.readMaps(pid);
        if (DirtyTracker.here().equals(Optional.of(DirtyTracker.SOFT_DIRTY))) {
            return softDirtyStep(tree, pid, vmas, splice, pool, parentHolds);
        }
        // splice mode needs the parasite anyway; read mode takes a tracker left by the previous step from outside
        Optional<UffdTracker> left = splice ? Optional.empty() : UffdTracker.find(pid, step.previous().trackers().get(pid));
        UffdTracker tracker = left.orElse(null); // closed here if the step fails
        PageSink sink = null;
        SpliceCollector spliced = null;
        try {
            sink = step.pages().open(PagemapType.PROCESS, pid);
            if (left.isPresent()) {
                return new Step(pid, vmas, tracker, MemoryCollector.registerUntracked(vmas, tracker), null, sink, null);
            }
            try (Parasite parasite = Parasite.infect(tree.leader(pid))) {
                tracker = UffdTracker.forPreDump(parasite, step.previous().trackers()).orElseThrow(() -> new DumpException(
                        "cannot pre-dump pid " + pid + ": this kernel tracks no written pages"
                        + " (no soft-dirty, and userfaultfd refuses UFFD_FEATURE_WP_ASYNC), so a pre-dump would save nothing;"
                        + " dump it directly"));
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
        SoftDirtyTracker tracker = SoftDirtyTracker.of(pid, step.previous().cleared());
        PageSink sink = null;
        SpliceCollector spliced = null;
        try {
            sink = step.pages().open(PagemapType.PROCESS, pid);
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
        if (!DumpStep.alive(pid)) {
            throw new DumpException("cannot pre-dump pid " + pid + ": it exited while its pages were copied");
        }
    }

}
