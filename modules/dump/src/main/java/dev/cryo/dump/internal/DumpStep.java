package dev.cryo.dump.internal;

import java.util.function.Consumer;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.images.ImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.TaskKobjIdsEntry;
import dev.cryo.dump.LazyServing;
import dev.cryo.pagexfer.LazyPageServer;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.Tracer;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Proc;

/**
 * What a dump and a pre-dump do around their own work, in one place: check the request ({@link Preflight}),
 * claim the images directory ({@link DumpDirectory}), rehearse on a decoy ({@link WarmUp}), link to the
 * previous step ({@link PreviousStep}), choose where pages go, run the work on a tracer thread of its own,
 * time it, and turn any failure into one line; and the inventory.img that each writes last.
 */
final class DumpStep {
    /** CRTOOLS_IMAGES_V1_1, the image version CRIU writes. */
    private static final int IMG_VERSION = 2;

    private DumpStep() {}

    /** Which step: the verb its messages and its tracer thread are named with. */
    enum Kind {
        DUMP("dump"),
        PRE_DUMP("pre-dump");

        private final String verb;

        Kind(String verb) {
            this.verb = verb;
        }
    }

    /**
     * What a step's work gets: the request, and what was set up for it before the tree is touched: the images
     * directory (the run's own until it ends), the previous step, where the pages go, and with {@code --lazy-pages}
     * the server its lazy-pages daemon connects to (listening already), or null.
     */
    record Context(Kind kind, DumpOptions options, Cancellation cancel, StepImages images, PreviousStep previous,
                   PageDestination pages, LazyPageServer lazy, HeldPages held) {
        ImageStore store() {
            return images.store();
        }

        /**
         * inventory.img, written last: a directory without it holds no complete dump. The root's ids are named
         * after its pid, as every process's are; {@code own} adds the fields of this kind of step.
         */
        void writeInventory(Consumer<InventoryEntry.Builder> own) {
            InventoryEntry.Builder inventory = InventoryEntry.newBuilder().setImgVersion(IMG_VERSION)
                    .setFdinfoPerId(true).setNsPerId(true).setRootIds(ids(options.pid()));
            own.accept(inventory);
            store().writeEntry(ImageKind.INVENTORY, inventory.build());
        }
    }

    /** The work of one step: fills the stats as it goes; the times around it are added here. */
    @FunctionalInterface
    interface Work {
        DumpStats.Builder run(Context c) throws Exception;
    }

    /** The kernel object ids of process {@code pid}: named after the pid (restore tells a core that is another task's by its vm_id). */
    static TaskKobjIdsEntry ids(int pid) {
        return TaskKobjIdsEntry.newBuilder().setVmId(pid).setFilesId(pid).setFsId(pid).setSighandId(pid).build();
    }

    static DumpStats run(Kind kind, DumpOptions options, Cancellation cancel, Work work) throws DumpException {
        Preflight.check(options);
        // Whatever way the run ends, but for SIGKILL, the directory keeps only a complete dump (see DumpDirectory);
        // with --remote, the image proxy and cache drop a snapshot that was not complete (RemoteSnapshot).
        try (StepImages dir = StepImages.claim(options, kind.verb, cancel)) {
            ImageStore store = dir.store();
            try (LazyPageServer lazy = kind == Kind.DUMP ? listenForLazyPages(options) : null;
                 HeldPages held = kind == Kind.DUMP ? held(options) : null) {
                long warmUp = options.warmUp() ? WarmUp.once(kind == Kind.DUMP ? null : options.preDumpMode(), options.leaveRunning(), options.listener(), cancel) : 0;
                long start = System.nanoTime();
                PreviousStep previous = dir.previous(options);
                try (PageDestination pages = destination(store, options, previous, cancel)) {
                    Context c = new Context(kind, options, cancel, dir, previous, pages, lazy, held);
                    DumpStats.Builder stats = Tracer.call(kind.verb + "-" + options.pid(), () -> work.run(c));
                    dir.complete();
                    return stats.times(System.nanoTime() - start, warmUp).build();
                }
            } catch (Exception e) {
                DumpException d = explain(options.pid(), e);
                throw kind == Kind.DUMP ? d : new DumpException(d.getMessage().replaceFirst("^cannot dump", "cannot " + kind.verb), e);
            }
        }
    }

    /** Chosen once for the whole step: the images directory, or a page server (connected here, before the tree is touched). */
    private static PageDestination destination(ImageStore store, DumpOptions options, PreviousStep previous, Cancellation cancel) {
        if (options.pageServer() == null && options.lazyPages() != null) {
            // the final step of post-copy after pre-copy: the pre-dumps' pages may be on a page server, as the
            // destination will be; what they hold is never sent lazily
            return PageDestination.imagesAfterPageServer(store, previous.store());
        }
        if (options.pageServer() == null) {
            return PageDestination.images(store, previous.store());
        }
        PageDestination d = PageDestination.pageServer(options.pageServer(), store, previous.store(), cancel::check);
        options.listener().log("pages go to " + d.describe());
        return d;
    }

    /**
     * Memory for the pages of a small dump with --leave-running into an images directory ({@link HeldPages}),
     * taken and touched before the warm-up, or null: a dump that kills the tree must have its images before it
     * does, and --lazy-pages, a live migration's handover, --remote and a page server keep their own ways;
     * {@code --memdump-mode read} writes while frozen, as before; {@code held} holds even where new memory is dear.
     */
    private static HeldPages held(DumpOptions o) {
        if (!o.leaveRunning() || o.lazyPages() != null || o.handover() != null || o.remote() != null || o.pageServer() != null
                || o.memdumpMode() != dev.cryo.dump.MemdumpMode.AUTO && o.memdumpMode() != dev.cryo.dump.MemdumpMode.HELD) {
            return null;
        }
        return HeldPages.forTree(o.pid(), o.memdumpMode() == dev.cryo.dump.MemdumpMode.AUTO);
    }

    /** --lazy-pages: listening before the tree is touched, so that a port in use fails the dump at once. */
    private static LazyPageServer listenForLazyPages(DumpOptions options) throws DumpException {
        if (options.lazyPages() == null) {
            return null;
        }
        if (options.leaveRunning()) {
            throw new DumpException("cannot dump pid " + options.pid() + " with --lazy-pages and --leave-running: the tree"
                    + " is killed once its lazy-pages daemon has taken its memory");
        }
        if (options.pageServer() != null) {
            throw new DumpException("cannot dump pid " + options.pid() + " with --lazy-pages and --page-server: the dump"
                    + " itself serves the lazy pages; the others go to the images");
        }
        LazyServing l = options.lazyPages();
        LazyPageServer s = LazyPageServer.listen(l.address(), l.port(), l.tls());
        options.listener().log("lazy pages will be served on " + s.where());
        return s;
    }

    private static DumpException explain(int pid, Exception e) {
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

    /** Neither gone nor a zombie. */
    static boolean alive(int pid) {
        try {
            return Proc.stat(pid).state() != 'Z';
        } catch (Proc.TaskGoneException | java.io.UncheckedIOException e) {
            return false;
        }
    }
}
