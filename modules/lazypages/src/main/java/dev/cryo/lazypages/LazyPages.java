package dev.cryo.lazypages;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.lazypages.internal.DumpedTree;
import dev.cryo.lazypages.internal.FaultLoop;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.pagexfer.RemotePages;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SeqpacketSocket;

/**
 * {@code cryo lazy-pages}: the daemon that fills a lazily restored tree's memory as it faults. It listens on a
 * unix socket for one restore ({@code cryo restore --lazy-pages}), which hands it each process's userfaultfd
 * ({@link Handoff}); then it answers their faults from the page source: the dump's images in {@code imagesDir},
 * and for the pages a lazy dump kept on its side ({@code cryo dump --lazy-pages}), that dump across the
 * network (GET in CRIU's page-server protocol). Between faults it pushes the rest. It returns once every
 * process's memory is complete or every process has exited; if the page source fails, it kills the tree and
 * fails with one line naming the cause and the fault it was serving.
 *
 * <pre>{@code
 * try (LazyPages daemon = LazyPages.listen(new LazyPages.Options(dir, socket, null, Duration.ofSeconds(5), log))) {
 *     LazyPages.Stats s = daemon.serve(() -> { });
 * }
 * }</pre>
 */
public final class LazyPages implements AutoCloseable {
    /** How long a page source may send nothing while a page is due, by default. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** The socket's name in the images directory when none is given (CRIU's is lazy-pages.socket in its work dir). */
    public static final String DEFAULT_SOCKET = "lazy-pages.socket";

    /**
     * @param imagesDir the dump's images (the whole dump; a lazy dump's images without the pages it kept)
     * @param socket    where the restore connects; it appears only once the daemon listens, and goes when it ends
     * @param source    the lazy dump serving the pages it kept, or null: every page is in the images
     * @param timeout   how long the source may send nothing while a page is due before the tree is given up
     * @param log       hears what the daemon does (for -v)
     * @param prefetchDelay how long after the tree runs the daemon answers faults alone before it pushes the rest in
     *                  the background; 0 (the default) pushes from the moment it has a process, even before the tree runs
     * @param parentPages the daemon places the pages of the pre-dump parents too, from the images (the restore leaves
     *                  them: {@code LazyHandoff.placesParentPages()} must say the same); only where they are on this side
     *                  already, as in live migration's image cache: never fetched from the source (criu issue 2542)
     */
    public record Options(Path imagesDir, Path socket, PageServerEndpoint source, Duration timeout, Consumer<String> log,
                          Duration prefetchDelay, boolean parentPages) {
        public Options {
            Objects.requireNonNull(imagesDir, "imagesDir");
            socket = socket == null ? imagesDir.resolve(DEFAULT_SOCKET) : socket;
            timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
            log = log == null ? m -> { } : log;
            prefetchDelay = prefetchDelay == null ? Duration.ZERO : prefetchDelay;
        }

        public Options(Path imagesDir, Path socket, PageServerEndpoint source, Duration timeout, Consumer<String> log,
                       Duration prefetchDelay) {
            this(imagesDir, socket, source, timeout, log, prefetchDelay, false);
        }

        public Options(Path imagesDir, Path socket, PageServerEndpoint source, Duration timeout, Consumer<String> log) {
            this(imagesDir, socket, source, timeout, log, Duration.ZERO, false);
        }

        /** The same, the pre-dump parents' pages placed by the daemon from the images ({@code parentPages}). */
        public Options withParentPages() {
            return new Options(imagesDir, socket, source, timeout, log, prefetchDelay, true);
        }
    }

    /**
     * What a daemon did.
     *
     * @param processes      processes the restore handed over
     * @param forked         children they forked while pages were due (each with a userfaultfd of its own)
     * @param exited         processes that exited before their memory was complete (dropped)
     * @param faults         page faults answered
     * @param pagesCopied    pages placed with UFFDIO_COPY (on fault or ahead of it)
     * @param remotePages    of the pages fetched, those that came from the dump across the network
     * @param zeroPages      faults answered with the zero page (memory the dump had no page for)
     * @param remoteBytes    bytes of pages received from the dump
     * @param faultP50Nanos  median time from reading a fault to its page being in place
     * @param faultP99Nanos  99th percentile of the same
     * @param completeNanos  from the first process handed over until every process's memory was complete (or gone)
     */
    public record Stats(int processes, int forked, int exited, long faults, long pagesCopied, long remotePages, long zeroPages,
                        long remoteBytes, long faultP50Nanos, long faultP99Nanos, long completeNanos) {}

    private final Options options;
    private final SeqpacketSocket listening;
    private final Path socket;
    /** The lazy dump's side, once {@link #connectSource()} has connected (null without a source). */
    private volatile RemotePages remote;
    private final DumpedTree tree;

    private LazyPages(Options options, SeqpacketSocket listening, DumpedTree tree) {
        this.options = options;
        this.listening = listening;
        this.socket = options.socket();
        this.tree = tree;
    }

    /**
     * Checks the images directory, connects to the source (the dump keeping the lazy pages, if any: it has
     * committed to this daemon when this returns) and listens on the socket. The socket is made under a
     * temporary name and renamed into place once it listens, mode 0600, so that a restore never finds a socket
     * that refuses it; one that is there already is refused unless nobody listens on it (left by a killed daemon).
     */
    public static LazyPages listen(Options o) {
        checkDirectory(o.imagesDir());
        return listen(o, new DirectoryImageStore(o.imagesDir()), o.imagesDir().toString());
    }

    /**
     * As {@link #listen(Options)}, with the dump's images read from {@code images} (named {@code where} in messages)
     * instead of {@code o.imagesDir()}, which then only holds the socket: post-copy live migration reads them from
     * the destination's image cache, where the lazy dump sent them. The caller closes {@code images} once the daemon is closed.
     */
    public static LazyPages listen(Options o, dev.cryo.images.ImageStore images, String where) {
        LazyPages daemon = prepare(o, images, where);
        try {
            daemon.connectSource();
            return daemon;
        } catch (RuntimeException e) {
            daemon.close();
            throw e;
        }
    }

    /**
     * As {@link #listen(Options, dev.cryo.images.ImageStore, String)} without connecting to the source: the images
     * read, the socket listening. {@link #connectSource()} connects (a lazy dump commits then) and must come before
     * {@link #serve}. For a restore that builds the tree meanwhile and hands nothing over before that (live
     * migration: the lazy dump's commit is then as late as it can be, and a restore that fails before it leaves the
     * source's tree running).
     */
    public static LazyPages prepare(Options o, dev.cryo.images.ImageStore images, String where) {
        // Every process's lazy pages are worked out before anything else: the restore, which waits for the answer
        // to each process it hands over while its tree is stopped, never waits for that; and images that cannot
        // be read fail here, before a lazy dump has committed to this daemon.
        DumpedTree tree = new DumpedTree(images, where, o.parentPages());
        SeqpacketSocket socket = null;
        try {
            tree.prepare();
            // listening before the source is connected: connecting to a lazy dump commits it (its tree never runs
            // again), so nothing that can fail here may come after
            socket = listenOn(o.socket());
            return new LazyPages(o, socket, tree);
        } catch (RuntimeException e) {
            if (socket != null) {
                socket.close();
                try {
                    Files.deleteIfExists(o.socket());
                } catch (IOException ignored) {
                    // the failure says what went wrong
                }
            }
            tree.close();
            throw e;
        }
    }

    /**
     * Connects to the lazy dump that keeps pages on its side, if the options name one (and it is not connected yet):
     * when this returns, that dump has committed to this daemon, and its tree never runs again.
     */
    public synchronized void connectSource() {
        if (options.source() != null && remote == null) {
            remote = RemotePages.connect(options.source().withStall(options.timeout()));
            options.log().accept("connected to the lazy pages at " + remote.describe());
        }
    }

    private static void checkDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new LazyPagesException("cannot serve lazy pages from " + dir + ": no such directory");
        }
        if (!Files.exists(dir.resolve(ImageKind.INVENTORY.fileName()))) {
            throw new LazyPagesException("cannot serve lazy pages from " + dir + ": it holds no complete dump (no inventory.img)");
        }
    }

    /** Listens on {@code socket}, made under a temporary name and renamed into place once it listens, mode 0600. */
    private static SeqpacketSocket listenOn(Path socket) {
        if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            if (!stale(socket)) {
                throw new LazyPagesException("cannot listen on " + socket + ": it is in use (another lazy-pages daemon?) or not a socket");
            }
            try {
                Files.delete(socket);
            } catch (IOException e) {
                throw new LazyPagesException("cannot listen on " + socket + ": a stale socket there cannot be removed (" + e.getMessage() + ")", e);
            }
        }
        Path temporary = socket.resolveSibling("." + socket.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        SeqpacketSocket s;
        try {
            s = SeqpacketSocket.listen(temporary.toString(), 1);
        } catch (ErrnoException e) {
            throw new LazyPagesException("cannot listen on " + socket + ": " + e.reason(), e);
        } catch (IllegalArgumentException e) {
            throw new LazyPagesException("cannot listen on " + socket + ": " + e.getMessage(), e);
        }
        try {
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
            Files.move(temporary, socket, StandardCopyOption.ATOMIC_MOVE);
            return s;
        } catch (IOException e) {
            s.close();
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException ignored) {
                // the failure says what went wrong
            }
            throw new LazyPagesException("cannot listen on " + socket + ": " + e.getMessage(), e);
        }
    }

    /** A socket there that nobody accepts on. */
    private static boolean stale(Path socket) {
        try (SeqpacketSocket probe = SeqpacketSocket.connect(socket.toString())) {
            return false;
        } catch (ErrnoException e) {
            return e.errno() == Kernel.ECONNREFUSED;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Where the restore connects. */
    public Path socket() {
        return socket;
    }

    /** Whether this daemon places the pre-dump parents' pages: what the restore's handoff must say too. */
    public boolean placesParentPages() {
        return options.parentPages();
    }

    /**
     * Serves one restore until its tree's memory is complete or its tree has exited. {@code checkpoint} runs
     * every round (at least once a second) and may throw to stop: the tree is killed then if pages were due.
     */
    public Stats serve(Runnable checkpoint) {
        if (options.source() != null && remote == null) {
            throw new IllegalStateException("the lazy-pages daemon serves only once connected to its source (connectSource)");
        }
        try (FaultLoop loop = new FaultLoop(tree, listening, remote, checkpoint, options.log(), options.prefetchDelay().toNanos())) {
            return loop.run();
        }
    }

    @Override
    public synchronized void close() {
        tree.close();
        if (remote != null) {
            remote.close();
        }
        listening.close();
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // a stale socket is replaced by the next daemon
        }
    }
}
