package dev.cryo.migrate;

import java.lang.foreign.Arena;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import dev.cryo.images.remote.FrameChannel;
import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.UnixLink;
import dev.cryo.migrate.internal.Holdings;
import dev.cryo.migrate.internal.LocalListener;
import dev.cryo.migrate.internal.ProxySteps;
import dev.cryo.migrate.internal.TcpLink;
import dev.cryo.pagexfer.PageServerException;
import dev.cryo.pagexfer.TcpStream;
import dev.cryo.pagexfer.Tls;
import dev.cryo.syscalls.CryoFailure;

/**
 * The source's daemon of images over sockets (seed 002): connected to the image cache by one TCP connection
 * (corked, TLS when asked), it takes the images of each step of one migration on its local socket from
 * {@code cryo dump|pre-dump --remote} and passes them on as they come, so that no image touches the source's
 * disk. It keeps what the next step of the chain reads (every image but pages: pagemaps, cryo's records) and
 * answers those reads itself. It ends once the migration's last dump is complete in the cache (or on
 * {@link #close()}, or when the cache's connection is lost, which it reports).
 *
 * <pre>{@code
 * try (ImageProxy proxy = ImageProxy.connect(new ImageProxy.Options(cacheAddress, 27100, null, null), log)) {
 *     ImageProxy.Stats s = proxy.serve();
 * }
 * }</pre>
 */
public final class ImageProxy implements AutoCloseable {
    /** How long the cache may take no data, or give no answer, before the proxy gives up on it. */
    public static final Duration STALL = Duration.ofSeconds(60);

    /**
     * @param cacheAddress the image cache's address
     * @param cachePort    its TCP port
     * @param localSocket  where dumps connect; null: {@link ImageDaemon#PROXY_SOCKET}
     * @param tls          TLS credentials (the cache's certificate checked against the CA), or null
     * @param stall        how long the cache may take no data or give no answer ({@link #STALL} unless told)
     */
    public record Options(InetAddress cacheAddress, int cachePort, Path localSocket, Tls tls, Duration stall) {
        public Options(InetAddress cacheAddress, int cachePort, Path localSocket, Tls tls) {
            this(cacheAddress, cachePort, localSocket, tls, STALL);
        }
    }

    /** What passed through. */
    public record Stats(String cache, int snapshots, long forwardedBytes, long keptBytes) {}

    private final FrameChannel link;
    private final LocalListener local;
    private final Holdings holdings = new Holdings(Holdings.Role.PROXY);
    private final Consumer<String> log;
    private final Arena arena = Arena.ofShared();
    private final ProxySteps steps;
    private final Set<FrameChannel> channels = ConcurrentHashMap.newKeySet();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private volatile boolean stopped;

    private ImageProxy(FrameChannel link, LocalListener local, Consumer<String> log) {
        this.link = link;
        this.local = local;
        this.log = log;
        this.steps = new ProxySteps(link, holdings, log, arena, this::finished);
    }

    /** Connects to the cache (which must be listening), then listens on the local socket. */
    public static ImageProxy connect(Options o, Consumer<String> log) {
        FrameChannel link;
        try {
            link = new FrameChannel(new TcpLink(TcpStream.connect(o.cacheAddress(), o.cachePort(), o.tls(), o.stall(), null), "image cache"));
        } catch (PageServerException e) {
            throw new RemoteImageException("the image cache: " + e.getMessage(), e);
        }
        try {
            LocalListener local = LocalListener.listen(o.localSocket() == null ? ImageDaemon.PROXY_SOCKET : o.localSocket(), "image proxy");
            return new ImageProxy(link, local, log == null ? line -> { } : log);
        } catch (RuntimeException e) {
            link.close();
            throw e;
        }
    }

    /** The cache as messages name it. */
    public String cache() {
        return link.peer();
    }

    public Path localSocket() {
        return local.path();
    }

    /**
     * Serves steps until the migration's last dump is complete in the cache and its cryo has gone (then the
     * cache hears BYE), or until {@link #close()}. Throws a {@link RemoteImageException} when the cache's
     * connection is lost.
     */
    public Stats serve() throws InterruptedException {
        Thread acceptor = Thread.ofPlatform().name("image-proxy-local").daemon(true).unstarted(this::acceptLocal);
        threads.add(acceptor);
        acceptor.start();
        ended.await();
        RuntimeException f = failure.get();
        if (f != null) {
            throw f;
        }
        Holdings.Figures h = holdings.figures();
        return new Stats(link.peer(), steps.completed(), h.receivedBytes(), h.heldBytes());
    }

    private void finished(RuntimeException lost) {
        if (lost != null) {
            failure.compareAndSet(null, lost instanceof RemoteImageException r ? r : new RemoteImageException(lost.getMessage(), lost));
        }
        ended.countDown();
    }

    private void acceptLocal() {
        while (!stopped) {
            UnixLink client;
            try {
                client = local.accept();
            } catch (CryoFailure e) {
                log.accept("a local connection failed: " + e.getMessage());
                continue;
            }
            if (client == null) {
                return;
            }
            FrameChannel ch = new FrameChannel(client);
            channels.add(ch);
            Thread t = Thread.ofPlatform().name("image-proxy-" + client.peer().replace(' ', '-')).daemon(true).unstarted(() -> {
                try {
                    steps.serve(ch);
                } finally {
                    channels.remove(ch);
                }
            });
            threads.add(t);
            t.start();
        }
    }

    /** Stops: no more connections; the step under way is aborted in the cache (its dump fails and releases its tree). */
    @Override
    public synchronized void close() {
        if (stopped) {
            return;
        }
        stopped = true;
        ended.countDown();
        local.wake();
        for (FrameChannel ch : channels) {
            try {
                ch.shutdown();
            } catch (RuntimeException gone) {
                // closed by its own thread meanwhile
            }
        }
        for (Thread t : threads) {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean quiet = threads.stream().noneMatch(Thread::isAlive);
        local.close();
        steps.close();
        if (quiet) {
            link.close();
            steps.free();
            holdings.close();
            arena.close();
        }
    }
}
