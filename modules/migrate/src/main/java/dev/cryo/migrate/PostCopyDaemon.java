package dev.cryo.migrate;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import dev.cryo.images.ImageStore;
import dev.cryo.lazypages.Handoff;
import dev.cryo.lazypages.LazyPages;
import dev.cryo.parasite.Cancellation;
import dev.cryo.restore.LazyHandoff;
import dev.cryo.syscalls.Fd;

/**
 * The destination's lazy-pages daemon in post-copy, as its restore's {@link LazyHandoff}. It gets ready (the images
 * read from the cache, its socket listening) on a thread of its own while the restore reads the same images and
 * builds the tree's memory; it connects to the source's lazy dump, which commits the source (the point of no return),
 * only when the restore asks for its source ({@link #awaitSource}, before the tree's files); then it serves the tree's
 * faults on a thread of its own until the tree's memory is all here: the final dump's lazy pages from the source,
 * the pre-copied ones from the cache (the restore leaves both: {@link #placesParentPages}).
 */
final class PostCopyDaemon implements LazyHandoff, AutoCloseable {
    /** Whether the daemon may connect to the source (true, the restore needs it) or must not (false, the restore failed). */
    private final CompletableFuture<Boolean> go = new CompletableFuture<>();
    /** The daemon, connected to the source; or why it could not get ready or connect. */
    private final CompletableFuture<LazyPages> connected = new CompletableFuture<>();
    private final Cancellation cancel;
    private final Cancellation faultsStop = new Cancellation();
    private final Consumer<String> log;
    private final AtomicReference<LazyPages.Stats> stats = new AtomicReference<>();
    private final AtomicReference<RuntimeException> failed = new AtomicReference<>();
    private volatile LazyPages daemon;
    private volatile boolean committed;
    private Thread thread;
    private Handoff handoff;

    private PostCopyDaemon(Cancellation cancel, Consumer<String> log) {
        this.cancel = cancel;
        this.log = log;
    }

    /**
     * Starts getting the daemon ready from {@code images} (named {@code where}). Its thread is made here, on the
     * server's thread: it connects to the source from the server's network namespace (a restore's thread may have
     * joined the tree's), and serves the faults once the restore has asked for the source.
     */
    static PostCopyDaemon start(LazyPages.Options o, ImageStore images, String where, Cancellation cancel, Consumer<String> log) {
        PostCopyDaemon d = new PostCopyDaemon(cancel, log);
        d.thread = Thread.ofPlatform().name("migrate-lazy-pages").start(() -> d.run(o.withParentPages(), images, where));
        return d;
    }

    private void run(LazyPages.Options o, ImageStore images, String where) {
        LazyPages d;
        try {
            d = LazyPages.prepare(o, images, where);
            daemon = d;
            if (!go.get()) {
                return; // the restore failed before it needed the source: the source never commits
            }
            d.connectSource();
        } catch (RuntimeException e) {
            connected.completeExceptionally(e);
            return;
        } catch (ExecutionException | InterruptedException e) {
            connected.completeExceptionally(new MigrationException("the lazy-pages daemon was stopped before it connected"));
            return;
        }
        committed = true;
        log.accept("the lazy-pages daemon has connected to the source's lazy dump: past the point of no return");
        connected.complete(d);
        try {
            stats.set(d.serve(() -> {
                cancel.check();
                faultsStop.check();
            }));
        } catch (RuntimeException e) {
            failed.set(e);
        }
    }

    /** Whether the source has committed to this daemon: from then on the tree is this host's, whatever happens. */
    boolean committed() {
        return committed;
    }

    @Override
    public void awaitSource() {
        go.complete(true);
        LazyPages d;
        try {
            d = connected.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("interrupted while the lazy-pages daemon connected to the source");
        }
        handoff = Handoff.connect(d.socket());
    }

    @Override
    public void hand(int pid, Fd uffd, Fd pidfd) {
        handoff.hand(pid, uffd, pidfd);
    }

    @Override
    public void released() {
        handoff.released();
    }

    @Override
    public boolean placesParentPages() {
        return true;
    }

    /** Waits until the tree's memory is all here (or its processes gone); the daemon's failure otherwise. */
    LazyPages.Stats await() throws InterruptedException {
        thread.join();
        RuntimeException f = failed.get();
        if (f != null) {
            throw f;
        }
        return stats.get();
    }

    /** Stops serving if it still does (the restore failed), or keeps the source from ever being connected; closes the daemon. */
    @Override
    public void close() {
        go.complete(false);
        if (committed) {
            faultsStop.cancel("the lazy restore failed");
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (handoff != null) {
            handoff.close();
        }
        if (daemon != null) {
            daemon.close();
        }
    }
}
