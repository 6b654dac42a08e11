package dev.cryo.migrate;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.cryo.images.RemoteImageStore;
import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.lazypages.LazyPages;
import dev.cryo.migrate.internal.ControlChannel;
import dev.cryo.migrate.proto.Accepted;
import dev.cryo.migrate.proto.Control;
import dev.cryo.migrate.proto.Hello;
import dev.cryo.migrate.proto.Resident;
import dev.cryo.migrate.proto.Restored;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.pagexfer.TcpStream;
import dev.cryo.pagexfer.Tls;
import dev.cryo.parasite.Cancellation;
import dev.cryo.restore.RestoreException;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.RestoreStats;
import dev.cryo.restore.Restorer;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.NetNamespace;
import dev.cryo.syscalls.Signals;

/**
 * Live migration, the destination's side ({@code cryo migrate-server}): takes one migration from
 * {@link Migration} on its control port, runs an {@link ImageCache} for it (on the same address, a port of its
 * own), restores the tree from the cache when the source says so, and keeps the copy only once the source has
 * committed: a source that fails or goes away before its commit gets the copy killed, so that the tree runs
 * on exactly one host. Nothing it received stays: the cache holds the images in memory and ends with it.
 */
public final class MigrationServer implements AutoCloseable {
    /** How long the source may stay silent on the control connection (a pre-copy round of a large tree included). */
    public static final Duration STALL = Duration.ofSeconds(120);
    private static final Pattern SNAPSHOT = Pattern.compile("/[A-Za-z0-9._/-]{1,200}");

    /**
     * @param address     where the control port and the image cache listen
     * @param port        the control port (0: a free one)
     * @param dir         the server's own directory (the cache's local socket lives there)
     * @param pidns       restore into a new pid namespace
     * @param tls         TLS for both connections, or null
     * @param orphan      the restored tree is left to init once it runs (the server's process exits next)
     * @param treeNetns   the network namespace to restore the tree into (a file, as CRIU's {@code --join-ns net:PATH}),
     *                    the tree's own that both hosts reach, as a container's; null: the server's
     * @param stall       how long the source may stay silent before it is taken for gone ({@link #STALL} unless told)
     */
    public record Options(InetAddress address, int port, Path dir, boolean pidns, Tls tls, boolean orphan, String treeNetns,
                          Duration stall) {
        public Options(InetAddress address, int port, Path dir, boolean pidns, Tls tls, boolean orphan, String treeNetns) {
            this(address, port, dir, pidns, tls, orphan, treeNetns, STALL);
        }
    }

    /** What the destination did: the restored root (as this host sees it), the images received, the restore's time. */
    public record Result(String source, int rootPid, long receivedBytes, long restoreNanos, int rounds) {}

    private final Options options;
    private final TcpStream.Server server;
    private final Io.Pipe stop = Io.pipe(Kernel.O_CLOEXEC);
    private final Consumer<String> log;
    private volatile ControlChannel control;
    private volatile ImageCache cache;
    private volatile boolean stopped;
    /** The restore's rehearsal, while pre-copy runs; joined before the server returns, so that nothing of it outlives it. */
    private volatile Thread rehearsal;
    /** The private directory of this migration's sockets (the cache's, the lazy-pages daemon's), removed at the end. */
    private SocketDirectory sockets;

    private MigrationServer(Options options, TcpStream.Server server, Consumer<String> log) {
        this.options = options;
        this.server = server;
        this.log = log;
    }

    public static MigrationServer listen(Options o, Consumer<String> log) {
        try {
            return new MigrationServer(o, TcpStream.Server.listen(o.address(), o.port(), o.tls()), log == null ? l -> { } : log);
        } catch (CryoFailure e) {
            throw new MigrationException("migration server: " + e.getMessage(), e);
        }
    }

    public int port() {
        return server.port();
    }

    /** Serves one migration; returns once its tree runs here and the source has committed, else throws. */
    public Result serve(Cancellation cancel) {
        TcpStream stream = server.accept(stop.read());
        if (stream == null) {
            throw new MigrationException("migration server: stopped before a source connected");
        }
        stream.timeouts(options.stall());
        try (ControlChannel ch = new ControlChannel(stream, "source")) {
            control = ch;
            Hello hello = ch.expect(Control.MessageCase.HELLO, "first").getHello();
            if (hello.getVersion() != 1) {
                ch.fail("this migration server speaks version 1 of the protocol, not " + hello.getVersion());
                throw new MigrationException(ch.peer() + " speaks version " + hello.getVersion() + " of the protocol, not 1");
            }
            log.accept(ch.peer() + " migrates its pid " + hello.getPid());
            // the sockets in a private directory of a short path (a unix socket's path is 107 bytes at most)
            try {
                sockets = SocketDirectory.make(options.dir(), log);
            } catch (IOException e) {
                ch.fail("the destination cannot make a directory for its sockets");
                throw new MigrationException("cannot make a directory for the migration's sockets: " + e.getMessage(), e);
            }
            Path sock = sockets.resolve("image-cache.sock");
            ImageCache c;
            try {
                c = ImageCache.listen(new ImageCache.Options(options.address(), 0, sock, options.tls()), log);
            } catch (RemoteImageException e) {
                ch.fail("the destination's image cache: " + e.getMessage());
                throw new MigrationException("image cache: " + e.getMessage(), e);
            }
            cache = c;
            try (c) {
                Thread serving = Thread.ofPlatform().name("migrate-image-cache").daemon(true).start(() -> {
                    try {
                        c.serve();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (RuntimeException e) {
                        log.accept("image cache: " + e.getMessage());
                    }
                });
                String peerAddress = stream.peer().substring(0, stream.peer().lastIndexOf(':')).replaceAll("^\\[|\\]$", "");
                // while pre-copy runs: the restore rehearsed, so that the real one (the tree frozen meanwhile) runs warm
                rehearsal = Thread.ofPlatform().name("migrate-rehearsal").daemon(true)
                        .start(() -> RestoreRehearsal.run(sockets.path(), hello.getPostCopy(), hello.getPreCopy(), log));
                ch.send(Control.newBuilder().setAccepted(Accepted.newBuilder().setCachePort(c.port()).setSourceAddress(peerAddress)).build());
                int rounds = 0;
                Control next;
                while ((next = ch.receive("before the final dump")).getMessageCase() == Control.MessageCase.ROUND) {
                    var r = next.getRound();
                    rounds++;
                    log.accept(String.format("pre-copy round %d: %d pages in %.1f ms", r.getNumber(), r.getPages(), r.getNanos() / 1e6));
                }
                if (next.getMessageCase() == Control.MessageCase.FAILED) {
                    throw new MigrationException(ch.peer() + " gave up: " + next.getFailed().getMessage() + "; nothing was restored here");
                }
                if (next.getMessageCase() != Control.MessageCase.RESTORE) {
                    ch.fail("restore was due");
                    throw new MigrationException(ch.peer() + " sent " + next.getMessageCase().name().toLowerCase() + " where restore was due");
                }
                String snapshot = next.getRestore().getSnapshot();
                if (!SNAPSHOT.matcher(snapshot).matches() || Stream.of(snapshot.split("/")).anyMatch(p -> p.equals("..") || p.equals("."))) {
                    ch.fail("a snapshot is named by an absolute path of letters, digits, '.', '_', '-' and '/'");
                    throw new MigrationException(ch.peer() + " named a snapshot that is not a plain absolute path: "
                            + ControlChannel.oneLine(snapshot));
                }
                RestoreOptions ro = RestoreOptions.of(Path.of(snapshot)).withDetached(true).withPidns(options.pidns())
                        .withShellJob(hello.getShellJob())
                        .withOrphan(options.orphan()).withRemote(ImageDaemon.cache(c.localSocket()))
                        .withNetwork(new RestoreOptions.Network(hello.getTcpEstablished(), hello.getTcpClose(), hello.getExtUnixSk(),
                                hello.getNetworkLock()));
                rehearsal.join(Duration.ofSeconds(30).toMillis()); // no pre-copy: the final dump's warm-up gives it time
                if (next.getRestore().hasLazyPort()) {
                    return postCopy(ch, c, ro, snapshot, peerAddress, next.getRestore().getLazyPort(), rounds, cancel, serving);
                }
                RestoreStats s;
                try {
                    s = restoreIn(options.treeNetns(), ro, cancel);
                } catch (RestoreException | CryoFailure e) {
                    // the restore killed what it created: nothing of the tree is here
                    ch.fail("the restore on the destination failed: " + e.getMessage());
                    throw new MigrationException("the restore failed: " + e.getMessage() + "; the tree runs on at the source", e);
                }
                log.accept("restored as pid " + s.rootPid() + " in " + steps(s) + "; waiting for the source's commit");
                try {
                    ch.send(Control.newBuilder().setRestored(Restored.newBuilder().setRootPid(s.rootPid())
                            .setRestoreNanos(s.restoreNanos()).setPages(s.pagesRestored())).build());
                    ch.expect(Control.MessageCase.COMMIT, "after the restore");
                } catch (MigrationException e) {
                    // no commit: the source keeps (or takes back) the tree, so the copy here must go
                    killTree(s.rootPid());
                    throw new MigrationException(e.getMessage() + "; the copy restored here (pid " + s.rootPid()
                            + ") was killed: the tree runs on at the source", e);
                }
                serving.join(Duration.ofSeconds(10).toMillis());
                return new Result(ch.peer(), s.rootPid(), 0, s.restoreNanos(), rounds);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("migration server: interrupted");
        } finally {
            control = null;
            cache = null;
            Thread r = rehearsal;
            if (r != null) {
                try {
                    r.join(Duration.ofSeconds(30).toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (sockets != null) {
                sockets.close(); // the rehearsal's images in it too
            }
        }
    }

    /**
     * Post-copy: a lazy-pages daemon reads the dump's images from the cache while the restore reads them too and
     * builds the tree's memory; before the tree's files the daemon connects to the source's lazy dump (the point of no
     * return: the source's tree never runs again, and what it held is free), the restore hands it the tree's
     * userfaultfds, and the tree runs here while its memory comes, on fault and in the background: what the final
     * dump left lazy from the source, and what pre-copy sent from the cache (the restore writes neither: its time,
     * the downtime, does not grow with the tree's memory).
     */
    private Result postCopy(ControlChannel ch, ImageCache c, RestoreOptions ro, String snapshot, String source, int lazyPort,
                            int rounds, Cancellation cancel, Thread serving) throws InterruptedException {
        if (lazyPort <= 0 || lazyPort > 65535) {
            ch.fail("lazy port " + lazyPort + " out of range");
            throw new MigrationException(ch.peer() + " serves its lazy pages on port " + Integer.toUnsignedString(lazyPort) + ", out of range");
        }
        PageServerEndpoint from = new PageServerEndpoint(dev.cryo.syscalls.TcpSocket.address(source), lazyPort, options.tls());
        Path socket = sockets.resolve("lazy-pages.sock");
        try (RemoteImageStore images = RemoteImageStore.open(ImageDaemon.cache(c.localSocket()), snapshot, cancel::check);
             PostCopyDaemon daemon = PostCopyDaemon.start(new LazyPages.Options(options.dir(), socket, from, LazyPages.DEFAULT_TIMEOUT, log),
                     images, "snapshot " + snapshot, cancel, log)) {
            RestoreStats s;
            try {
                s = restoreIn(options.treeNetns(), ro.withLazyPages(daemon), cancel);
            } catch (RestoreException | CryoFailure e) {
                String why = "the lazy restore on the destination failed: " + e.getMessage() + (daemon.committed()
                        ? "; past the point of no return (the source's tree was committed to this destination): the tree is lost"
                        : "; the tree runs on at the source");
                ch.fail(why);
                throw new MigrationException(why, e);
            }
            ch.send(Control.newBuilder().setRestored(Restored.newBuilder().setRootPid(s.rootPid())
                    .setRestoreNanos(s.restoreNanos()).setPages(s.pagesRestored())).build());
            log.accept("restored lazily as pid " + s.rootPid() + " in " + steps(s) + "; its memory follows from the source and the cache");
            LazyPages.Stats ls;
            try {
                ls = daemon.await();
            } catch (RuntimeException e) {
                String why = "post-copy: " + e.getMessage();
                ch.fail(why);
                throw new MigrationException(why, e);
            }
            ch.send(Control.newBuilder().setResident(Resident.newBuilder().setNanos(ls.completeNanos())
                    .setRemotePages(ls.remotePages()).setFaults(ls.faults())).build());
            try {
                ch.expect(Control.MessageCase.COMMIT, "after post-copy");
            } catch (MigrationException e) {
                // past the point of no return: the copy here is the tree whatever the source says now
                log.accept(e.getMessage() + "; the tree runs here as pid " + s.rootPid());
            }
            serving.join(Duration.ofSeconds(10).toMillis());
            return new Result(ch.peer(), s.rootPid(), 0, s.restoreNanos(), rounds);
        }
    }

    /** The restore's time and where it went, for -v: "153.2 ms (reading images 5.1 ms, ...)". */
    private static String steps(RestoreStats s) {
        StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT, "%.1f ms (", s.restoreNanos() / 1e6));
        for (RestoreStats.Step step : s.steps()) {
            b.append(String.format(java.util.Locale.ROOT, "%s%s %.1f ms", b.charAt(b.length() - 1) == '(' ? "" : ", ", step.name(),
                    step.nanos() / 1e6));
        }
        return b.append(')').toString();
    }

    /**
     * The restore, on a thread of its own that first joins network namespace {@code netns} (its puppets and so the
     * tree are made there); on this thread without one.
     */
    private static RestoreStats restoreIn(String netns, RestoreOptions ro, Cancellation cancel) throws RestoreException {
        if (netns == null) {
            return Restorer.restore(ro, cancel);
        }
        RestoreStats[] done = new RestoreStats[1];
        Exception[] failed = new Exception[1];
        Thread t = Thread.ofPlatform().name("migrate-restore").start(() -> {
            try {
                NetNamespace.enter(netns);
                done[0] = Restorer.restore(ro, cancel);
            } catch (RestoreException | RuntimeException e) {
                failed[0] = e;
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            cancel.cancel("interrupted");
            Thread.currentThread().interrupt();
            throw new MigrationException("interrupted during the restore");
        }
        if (failed[0] instanceof RestoreException r) {
            throw r;
        }
        if (failed[0] instanceof RuntimeException r) {
            throw r;
        }
        return done[0];
    }

    /** SIGKILL to {@code root} and every descendant (host pids), children first found. */
    static void killTree(int root) {
        List<Integer> tree = new ArrayList<>();
        descendants(root, tree);
        for (int pid : tree) {
            try {
                Signals.kill(pid, Kernel.SIGKILL);
            } catch (CryoFailure gone) {
                // ended meanwhile
            }
        }
    }

    private static void descendants(int pid, List<Integer> out) {
        if (out.contains(pid)) {
            return;
        }
        out.add(pid);
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                for (String child : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                    if (!child.isEmpty()) {
                        descendants(Integer.parseInt(child), out);
                    }
                }
            }
        } catch (IOException gone) {
            // ended while we looked
        }
    }

    /** Stops: a migration under way fails (nothing of it stays); safe from another thread (a signal's). */
    @Override
    public synchronized void close() {
        if (stopped) {
            return;
        }
        stopped = true;
        try (Arena a = Arena.ofConfined()) {
            Io.writeFully(stop.write().fd(), a.allocate(1));
        } catch (CryoFailure e) {
            // woken already
        }
        ControlChannel ch = control;
        if (ch != null) {
            ch.shutdown();
        }
        ImageCache c = cache;
        if (c != null) {
            c.close();
        }
        server.close();
        stop.close();
    }
}
