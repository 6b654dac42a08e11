package dev.cryo.migrate;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import dev.cryo.images.remote.FrameChannel;
import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.UnixLink;
import dev.cryo.migrate.internal.Holdings;
import dev.cryo.migrate.internal.LocalListener;
import dev.cryo.migrate.internal.LocalSession;
import dev.cryo.migrate.internal.SourceSession;
import dev.cryo.migrate.internal.TcpLink;
import dev.cryo.pagexfer.PageServerException;
import dev.cryo.pagexfer.TcpStream;
import dev.cryo.pagexfer.Tls;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * The destination's daemon of images over sockets (seed 002): takes one TCP connection from the image proxy
 * and holds every image of one migration in memory (a chain of pre-dumps and a dump, each page once: the
 * newest), and serves them on its local socket to {@code cryo restore --remote}, which waits for an image that
 * has not arrived yet. It ends once a restore from the migration's last dump has ended well (or on
 * {@link #close()}). A second proxy is refused; so is anything that breaks the protocol, with one line naming
 * the peer and the image.
 *
 * <pre>{@code
 * try (ImageCache cache = ImageCache.listen(new ImageCache.Options(address, 27100, null, null), log)) {
 *     ImageCache.Stats s = cache.serve();
 * }
 * }</pre>
 */
public final class ImageCache implements AutoCloseable {
    /**
     * @param address     the address to listen on for the image proxy (cryo listens on loopback unless told otherwise)
     * @param port        TCP port; 0 lets the kernel choose ({@link #port})
     * @param localSocket where restores connect; null: {@link ImageDaemon#CACHE_SOCKET}
     * @param tls         TLS credentials (the proxy must present a certificate of the CA), or null
     */
    public record Options(InetAddress address, int port, Path localSocket, Tls tls) {}

    /** What the cache received and holds at its end. */
    /**
     * {@code peakInFiles}: the most bytes of pages held at once in memfds, which the cache writes without mapping
     * them: they are not in its resident set.
     */
    public record Stats(String source, int snapshots, int images, long receivedBytes, long heldBytes, long releasedBytes, long peakInFiles) {}

    private final TcpStream.Server server;
    private final LocalListener local;
    private final Holdings holdings = new Holdings(Holdings.Role.CACHE);
    private final Consumer<String> log;
    private final Io.Pipe stopTcp = Io.pipe(Kernel.O_CLOEXEC);
    private final Set<FrameChannel> channels = ConcurrentHashMap.newKeySet();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private volatile boolean stopped;
    private volatile String source;

    private ImageCache(TcpStream.Server server, LocalListener local, Consumer<String> log) {
        this.server = server;
        this.local = local;
        this.log = log;
    }

    /** Listens for the proxy and for restores; TLS files are checked here. */
    public static ImageCache listen(Options o, Consumer<String> log) {
        TcpStream.Server server;
        try {
            server = TcpStream.Server.listen(o.address(), o.port(), o.tls());
        } catch (PageServerException e) {
            throw new RemoteImageException(e.getMessage(), e);
        }
        try {
            LocalListener local = LocalListener.listen(o.localSocket() == null ? ImageDaemon.CACHE_SOCKET : o.localSocket(), "image cache");
            return new ImageCache(server, local, log == null ? line -> { } : log);
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** The TCP port the proxy connects to. */
    public int port() {
        return server.port();
    }

    /** The local socket restores connect to. */
    public Path localSocket() {
        return local.path();
    }

    /**
     * Serves until a restore from the migration's last dump has ended well and the proxy has said its last
     * word, or until {@link #close()}; returns what it received and holds.
     */
    public Stats serve() throws InterruptedException {
        start("image-cache-tcp", this::acceptProxies);
        start("image-cache-local", this::acceptLocal);
        holdings.awaitDone(() -> stopped);
        Holdings.Figures f = holdings.figures();
        return new Stats(source, f.snapshots(), f.images(), f.receivedBytes(), f.heldBytes(), f.releasedBytes(), f.peakInFiles());
    }

    private void start(String name, Runnable r) {
        Thread t = Thread.ofPlatform().name(name).daemon(true).unstarted(r);
        threads.add(t);
        t.start();
    }

    /** The first proxy is the migration's source; any later one is refused, saying so. */
    private void acceptProxies() {
        while (!stopped) {
            TcpStream conn;
            try {
                conn = server.accept(stopTcp.read());
            } catch (CryoFailure e) {
                log.accept("a connection failed: " + e.getMessage()); // e.g. a TLS client without the CA's certificate
                continue;
            }
            if (conn == null) {
                return;
            }
            FrameChannel ch = new FrameChannel(new TcpLink(conn, "image proxy"));
            if (source != null) {
                log.accept("refused " + ch.peer() + ": the cache serves " + source);
                start("image-cache-refusal", () -> ch.fail("this image cache serves the migration from " + source
                        + " already; one migration per cache (start another cache)"));
                continue;
            }
            source = ch.peer();
            channels.add(ch);
            start("image-cache-source", () -> {
                try (Io.Pipe pipe = SourceSession.pipeFor(ch)) {
                    new SourceSession(ch, holdings, pipe, log).run();
                } finally {
                    channels.remove(ch);
                }
            });
        }
    }

    private void acceptLocal() {
        while (!stopped) {
            UnixLink link;
            try {
                link = local.accept();
            } catch (CryoFailure e) {
                log.accept("a local connection failed: " + e.getMessage());
                continue;
            }
            if (link == null) {
                return;
            }
            FrameChannel ch = new FrameChannel(link);
            channels.add(ch);
            start("image-cache-" + link.peer().replace(' ', '-'), () -> {
                try {
                    new LocalSession(ch, holdings, null, log).run();
                } finally {
                    channels.remove(ch);
                }
            });
        }
    }

    /**
     * Stops: no more connections; readers waiting for an image are told the cache stops; every connection is
     * ended, and the memory freed once its threads are gone. Safe from another thread (a signal's).
     */
    @Override
    public synchronized void close() {
        if (stopped && threads.isEmpty()) {
            return;
        }
        stopped = true;
        holdings.stop("the image cache is stopping");
        local.wake();
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            Io.writeFully(stopTcp.write().fd(), a.allocate(1));
        } catch (CryoFailure e) {
            // woken already
        }
        channels.forEach(FrameChannel::shutdown);
        for (Thread t : threads) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean quiet = threads.stream().noneMatch(Thread::isAlive);
        threads.clear();
        local.close();
        server.close();
        stopTcp.close();
        if (quiet) {
            holdings.close(); // no thread is left to send from it or receive into it
        }
    }
}
