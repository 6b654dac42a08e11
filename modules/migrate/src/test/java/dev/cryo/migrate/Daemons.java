package dev.cryo.migrate;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.pagexfer.Tls;

/** An image cache and an image proxy in this JVM, on loopback, each serving on a thread of its own; closed together. */
final class Daemons implements AutoCloseable {
    final ImageCache cache;
    final ImageProxy proxy;
    final CompletableFuture<ImageCache.Stats> cacheEnd = new CompletableFuture<>();
    final CompletableFuture<ImageProxy.Stats> proxyEnd = new CompletableFuture<>();
    final List<String> cacheLog;
    final List<String> proxyLog;

    private Daemons(ImageCache cache, ImageProxy proxy, List<String> cacheLog, List<String> proxyLog) {
        this.cache = cache;
        this.proxy = proxy;
        this.cacheLog = cacheLog;
        this.proxyLog = proxyLog;
    }

    static Daemons start(Path dir) {
        return start(dir, null, null);
    }

    static Daemons start(Path dir, Tls cacheTls, Tls proxyTls) {
        List<String> cacheLog = new CopyOnWriteArrayList<>();
        List<String> proxyLog = new CopyOnWriteArrayList<>();
        ImageCache cache = ImageCache.listen(new ImageCache.Options(InetAddress.getLoopbackAddress(), 0, dir.resolve("cache.sock"), cacheTls),
                cacheLog::add);
        ImageProxy proxy;
        try {
            proxy = ImageProxy.connect(new ImageProxy.Options(InetAddress.getLoopbackAddress(), cache.port(), dir.resolve("proxy.sock"),
                    proxyTls), proxyLog::add);
        } catch (RuntimeException e) {
            cache.close();
            throw e;
        }
        Daemons d = new Daemons(cache, proxy, cacheLog, proxyLog);
        serve("test-cache", () -> d.cacheEnd.complete(cache.serve()), d.cacheEnd);
        serve("test-proxy", () -> d.proxyEnd.complete(proxy.serve()), d.proxyEnd);
        return d;
    }

    private interface Serving {
        void run() throws Exception;
    }

    private static void serve(String name, Serving body, CompletableFuture<?> end) {
        Thread.ofPlatform().name(name).daemon(true).start(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                end.completeExceptionally(e);
            }
        });
    }

    /** {@code body} on a thread of its own (the common pool may have one thread on a machine of 2 cores). */
    static <T> CompletableFuture<T> inThread(java.util.concurrent.Callable<T> body) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread.ofPlatform().daemon(true).start(() -> {
            try {
                f.complete(body.call());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    static ImageDaemon of(ImageCache c) {
        return ImageDaemon.cache(c.localSocket());
    }

    static ImageDaemon of(ImageProxy p) {
        return ImageDaemon.proxy(p.localSocket());
    }

    ImageDaemon proxyDaemon() {
        return ImageDaemon.proxy(proxy.localSocket());
    }

    ImageDaemon cacheDaemon() {
        return ImageDaemon.cache(cache.localSocket());
    }

    @Override
    public void close() {
        try (cache) {
            proxy.close();
        }
    }
}
