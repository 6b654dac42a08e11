package dev.cryo.pagexfer;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;

import dev.cryo.pagexfer.internal.LazySession;
import dev.cryo.pagexfer.internal.PlainWire;
import dev.cryo.pagexfer.internal.TlsContexts;
import dev.cryo.pagexfer.internal.TlsWire;
import dev.cryo.pagexfer.internal.Wire;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Poll;
import dev.cryo.syscalls.TcpSocket;

/**
 * The dump's end of post-copy: after {@code dump --lazy-pages}, the pages left lazy are served to one
 * lazy-pages daemon, GET by GET in CRIU's page-server protocol, until it says CLOSE (it has taken all it
 * needs, or its tree has exited). Where the bytes come from is the dump's business ({@link Memory}: the
 * frozen tree itself).
 *
 * <pre>{@code
 * try (LazyPageServer server = LazyPageServer.listen(address, port, tls)) {   // before the tree is touched
 *     ... dump ...
 *     server.accept(cancel::check);             // the daemon is there: from now on the tree is its
 *     LazyPageServer.Session s = server.serve(lazyRanges, memory);
 * }
 * }</pre>
 */
public final class LazyPageServer implements AutoCloseable {
    private static final int TICK_MILLIS = 1000;
    private static final Duration QUIET = Duration.ofDays(3650);

    /** Reads the bytes of pages left lazy. */
    @FunctionalInterface
    public interface Memory {
        /** Fills {@code into} with the memory of process {@code pid} from {@code vaddr} on. */
        void read(int pid, long vaddr, MemorySegment into);
    }

    /** What one session served. */
    public record Session(String peer, long gets, long pages, long bytes, long nanos) {}

    private final TcpSocket listening;
    private final InetAddress address;
    private final int port;
    private final SSLContext tls;
    private Wire wire;

    private LazyPageServer(TcpSocket listening, InetAddress address, SSLContext tls) {
        this.listening = listening;
        this.address = address;
        this.port = listening.localPort();
        this.tls = tls;
    }

    /** Checks the TLS files and listens on {@code address}:{@code port} (0: the kernel picks, {@link #port} says). */
    public static LazyPageServer listen(InetAddress address, int port, Tls tls) {
        SSLContext ctx = tls == null ? null : TlsContexts.forServer(tls);
        try {
            return new LazyPageServer(TcpSocket.listen(address, port, 1), address, ctx);
        } catch (ErrnoException e) {
            throw new PageServerException("cannot listen on " + address.getHostAddress() + ":" + port + " for lazy pages: "
                    + e.reason(), e);
        }
    }

    public int port() {
        return port;
    }

    /** Where it listens, as users write it. */
    public String where() {
        return TcpSocket.format(new java.net.InetSocketAddress(address, port()));
    }

    /**
     * Waits for the daemon's connection, running {@code checkpoint} (which may throw, to give up) every second,
     * as later every second the daemon sends nothing; the listening socket is closed once it is there, and the
     * TLS handshake, if any, done.
     */
    public String accept(Runnable checkpoint) {
        while (true) {
            short[] ready = Poll.poll(new int[] {listening.fd().fd()}, new short[] {(short) Kernel.POLLIN}, TICK_MILLIS);
            if (ready[0] != 0) {
                break;
            }
            checkpoint.run();
        }
        TcpSocket conn = listening.accept();
        listening.close();
        try {
            conn.noDelay(true); // every answer leaves at once: a thread of the restored tree waits for it
            // No limit on a quiet daemon (its tree may sleep), but the checkpoint runs every second of quiet.
            PlainWire plain = new PlainWire(conn, false, QUIET, checkpoint);
            wire = tls == null ? plain : TlsWire.server(plain, tls);
            return wire.peer();
        } catch (RuntimeException e) {
            conn.close();
            throw e;
        }
    }

    /**
     * Serves the connected daemon until CLOSE: {@code lazy} holds, per pid, the ranges left lazy (sorted
     * [start, end) pairs), and only those are served.
     */
    public Session serve(Map<Integer, List<long[]>> lazy, Memory memory) {
        if (wire == null) {
            throw new IllegalStateException("no lazy-pages daemon has connected");
        }
        LazySession.Result r;
        try {
            r = new LazySession(wire, lazy, memory).run();
        } catch (RuntimeException e) {
            Wire w = wire;
            wire = null;
            w.close(); // the daemon hears at once that its source is gone
            throw e;
        }
        awaitEnd();
        return new Session(r.peer(), r.gets(), r.pages(), r.bytes(), r.nanos());
    }

    /** After CLOSE is answered the daemon ends the stream (10 s at most); anything else only ends the wait. */
    private void awaitEnd() {
        try {
            wire.socket().timeouts(Duration.ofSeconds(10));
            try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
                wire.socket().recv(a.allocate(64)); // the socket itself: the wire would wait on a quiet peer without end
            }
        } catch (RuntimeException ignored) {
            // its pages are all served
        }
    }

    @Override
    public void close() {
        listening.close();
        if (wire != null) {
            wire.close();
        }
    }
}
