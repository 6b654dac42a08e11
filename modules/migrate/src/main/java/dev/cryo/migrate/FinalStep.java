package dev.cryo.migrate;

import java.util.concurrent.atomic.AtomicReference;

import dev.cryo.dump.DumpListener;
import dev.cryo.migrate.internal.ControlChannel;
import dev.cryo.migrate.proto.Commit;
import dev.cryo.migrate.proto.Control;
import dev.cryo.migrate.proto.Resident;
import dev.cryo.migrate.proto.Restore;
import dev.cryo.migrate.proto.Restored;
import dev.cryo.parasite.Cancellation;

/**
 * The source's side of the final step: the destination told to restore, its answers taken, and the point of no
 * return kept track of. Pre-copy: the frozen tree dies once the destination says its copy runs ({@link #handover}).
 * Post-copy: the lazy dump commits when the destination's lazy-pages daemon connects; the destination's answers
 * (the copy runs, then its memory is all resident) are read on a thread of their own while the dump serves.
 */
final class FinalStep {
    private final ControlChannel control;
    private final String snapshot;
    private final Migration.Listener listener;
    final AtomicReference<Restored> restored = new AtomicReference<>();
    final AtomicReference<Resident> resident = new AtomicReference<>();
    private final AtomicReference<RuntimeException> failed = new AtomicReference<>();
    volatile long restoredAt;
    private volatile boolean committed;
    private Thread answers;

    private final java.time.Duration stall;

    FinalStep(ControlChannel control, String snapshot, Migration.Listener listener, java.time.Duration stall) {
        this.stall = stall;
        this.control = control;
        this.snapshot = snapshot;
        this.listener = listener;
    }

    /** Pre-copy: called with the tree frozen and its images complete in the cache. */
    void handover() {
        listener.phase("restore on the destination");
        control.send(Control.newBuilder().setRestore(Restore.newBuilder().setSnapshot(snapshot)).build());
        restored.set(control.expect(Control.MessageCase.RESTORED, "during its restore").getRestored());
        restoredAt = System.nanoTime();
        // the point of no return: from here the copy there is the tree
        committed = true;
        control.send(Control.newBuilder().setCommit(Commit.getDefaultInstance()).build());
    }

    /** Post-copy: the dump's listener, which tells the destination to restore once the lazy pages are served. */
    DumpListener lazily(DumpListener progress, Cancellation cancel) {
        return new DumpListener() {
            @Override
            public void pages(long done, long total) {
                progress.pages(done, total);
            }

            @Override
            public void log(String message) {
                progress.log(message);
            }

            @Override
            public void servingLazyPages(String where) {
                int port = Integer.parseInt(where.substring(where.lastIndexOf(':') + 1));
                listener.phase("lazy restore on the destination");
                control.send(Control.newBuilder().setRestore(Restore.newBuilder().setSnapshot(snapshot).setLazyPort(port)).build());
                answers = Thread.ofPlatform().name("migrate-answers").daemon(true).start(() -> {
                    try {
                        restored.set(control.expect(Control.MessageCase.RESTORED, "during its lazy restore").getRestored());
                        restoredAt = System.nanoTime();
                        listener.phase("post-copy: the tree runs on the destination, its memory follows");
                        resident.set(control.expect(Control.MessageCase.RESIDENT, "during post-copy").getResident());
                    } catch (RuntimeException e) {
                        failed.set(e);
                        cancel.cancel(e.getMessage()); // before the commit, the dump releases the tree; after it, it is over
                    }
                });
            }

            @Override
            public void lazyDaemonConnected(String peer) {
                committed = true;
                progress.log("the destination's lazy-pages daemon " + peer + " connected: the point of no return");
            }
        };
    }

    /** Once the dump has ended well: post-copy's answers taken, then the commit said. */
    void afterDump() throws InterruptedException {
        if (answers != null) {
            answers.join(stall.toMillis());
            RuntimeException f = failed.get();
            if (f != null || resident.get() == null) {
                throw new MigrationException("post-copy: " + (f != null ? f.getMessage() : control.peer() + " did not say that the memory is resident")
                        + "; past the point of no return, the tree is the destination's" + (restored.get() == null ? ""
                                : " (pid " + restored.get().getRootPid() + ")"), f);
            }
            control.send(Control.newBuilder().setCommit(Commit.getDefaultInstance()).build());
        }
    }

    /** A failure of the final step, saying where the tree is. */
    MigrationException explain(MigrationException e, String where) {
        RuntimeException f = failed.get();
        String why = e.getMessage();
        if (f != null && !why.contains(f.getMessage())) {
            why = why + " (" + f.getMessage() + ")";
        }
        if (!committed) {
            return e == null ? new MigrationException(why) : new MigrationException(why, e);
        }
        Restored r = restored.get();
        return new MigrationException(why.replace("; " + where + " runs on here", "") + "; past the point of no return: "
                + (r != null ? "the tree runs on the destination as pid " + r.getRootPid()
                        : "the source's tree is gone, and the destination's copy was not confirmed"), e);
    }
}
