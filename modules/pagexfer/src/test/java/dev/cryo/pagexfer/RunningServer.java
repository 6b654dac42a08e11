package dev.cryo.pagexfer;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** A page server on loopback serving one session on a thread of its own, for tests. */
final class RunningServer implements AutoCloseable {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    final PageServer server;
    private final CompletableFuture<PageServer.Session> session = new CompletableFuture<>();

    private RunningServer(PageServer server) {
        this.server = server;
        Thread t = new Thread(() -> {
            try {
                session.complete(server.serve());
            } catch (Throwable e) {
                session.completeExceptionally(e);
            }
        }, "page-server-" + server.port());
        t.setDaemon(true);
        t.start();
    }

    static RunningServer start(Path dir, Path prev, Tls tls) {
        return new RunningServer(PageServer.listen(new PageServer.Options(dir, LOOPBACK, 0, prev, tls)));
    }

    static RunningServer start(Path dir) {
        return start(dir, null, null);
    }

    int port() {
        return server.port();
    }

    PageServerEndpoint endpoint() {
        return new PageServerEndpoint(LOOPBACK, port(), null);
    }

    /** The finished session, or the failure that ended it (within 20 s). */
    PageServer.Session session() throws Exception {
        try {
            return session.get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    /** The message of the failure that ended the session; fails if it ended well. */
    String failure() throws Exception {
        try {
            PageServer.Session s = session.get(20, TimeUnit.SECONDS);
            throw new AssertionError("the session ended well: " + s);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof PageServerException p)) {
                throw new AssertionError("the session ended with " + e.getCause(), e.getCause());
            }
            return p.getMessage();
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
