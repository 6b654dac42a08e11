package dev.cryo.service;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.cryo.service.internal.ServiceContext;
import dev.cryo.service.internal.Session;
import dev.cryo.syscalls.SeqpacketSocket;

/**
 * CRIU's RPC to the one client at the other end of an inherited socket: CRIU's {@code swrk} mode, as
 * pycriu's {@code use_binary} and libcriu start {@code criu swrk FD}. Served as one connection of
 * {@link RpcService} is, on the calling thread; {@link #close()}, from another thread (a shutdown hook),
 * cancels what runs and waits for it to unwind.
 */
public final class RpcConnection implements AutoCloseable {
    private static final long UNWIND_SECONDS = 60;

    private final Session session;
    private final ServiceContext context;
    private final CountDownLatch done = new CountDownLatch(1);

    private RpcConnection(Session session, ServiceContext context) {
        this.session = session;
        this.context = context;
    }

    /**
     * Takes ownership of {@code fd}, a unix SOCK_SEQPACKET socket.
     *
     * @param warmUp see {@link RpcService#listen}
     * @throws IllegalArgumentException when {@code fd} is not such a socket
     */
    public static RpcConnection adopt(int fd, ServiceLog log, boolean warmUp) throws IOException {
        SeqpacketSocket socket = SeqpacketSocket.adopt(fd);
        ServiceContext context = new ServiceContext(log, System.err, warmUp);
        try {
            return new RpcConnection(new Session(socket, context, RpcService.ownUid()), context);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** Serves the client until it is done (its last request answered, or it hung up); the socket is then closed. */
    public void serve() {
        try {
            session.run();
        } finally {
            done.countDown();
        }
    }

    /** Cancels the running request, if any, and waits (a minute at most) for it to unwind and be answered. */
    @Override
    public void close() {
        context.stop("cryo is stopping");
        session.shutdownIfIdle();
        try {
            if (!done.await(UNWIND_SECONDS, TimeUnit.SECONDS)) {
                session.shutdown();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
