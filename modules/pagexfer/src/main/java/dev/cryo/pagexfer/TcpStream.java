package dev.cryo.pagexfer;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.time.Duration;
import javax.net.ssl.SSLContext;

import dev.cryo.pagexfer.internal.PlainWire;
import dev.cryo.pagexfer.internal.TlsContexts;
import dev.cryo.pagexfer.internal.TlsWire;
import dev.cryo.pagexfer.internal.Wire;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.TcpSocket;

/**
 * A TCP connection between two hosts as a byte stream, with what the page server's connections have: the
 * sending side corked ({@code TCP_CORK}) and pushed ({@code TCP_NODELAY}) when it waits for an answer, the
 * receiving side {@code TCP_NODELAY}, TLS with the JDK's {@code SSLEngine} from PEM files ({@link Tls}), send
 * and recv straight from and into off-heap memory, and a stall limit. For protocols other than CRIU's page
 * server between the same hosts (the image proxy and the image cache). Failures are
 * {@link PageServerException}s whose message starts with the peer.
 *
 * <pre>{@code
 * try (TcpStream s = TcpStream.connect(address, port, tls, Duration.ofSeconds(60), null)) {
 *     s.send(frame);  s.push();  s.recv(answer);
 * }
 * }</pre>
 */
public final class TcpStream implements AutoCloseable {
    private final Wire wire;

    private TcpStream(Wire wire) {
        this.wire = wire;
    }

    /**
     * Connects to {@code address}:{@code port}, with TLS when {@code tls} is given (the server's certificate
     * checked against its CA, and its name unless the Tls says not to); the socket is corked for what it sends.
     * {@code stall}: how long the peer may take no data or send nothing (null: no limit); {@code checkpoint}
     * runs once a second while it does not (with a stall limit only).
     */
    public static TcpStream connect(InetAddress address, int port, Tls tls, Duration stall, Runnable checkpoint) {
        TcpSocket socket;
        try {
            socket = TcpSocket.connect(address, port);
        } catch (ErrnoException e) {
            throw new PageServerException("cannot connect to " + TcpSocket.format(new java.net.InetSocketAddress(address, port))
                    + ": " + e.reason(), e);
        }
        try {
            PlainWire raw = new PlainWire(socket, true, stall, checkpoint);
            Wire w = tls == null ? raw
                    : TlsWire.client(raw, TlsContexts.of(tls), address.getHostAddress(), port, tls.checkName());
            socket.cork(true); // after the handshake, as the page server's client: its records go at once
            return new TcpStream(w);
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** A listening socket whose connections become streams (TLS set up at accept when asked). */
    public static final class Server implements AutoCloseable {
        private final TcpSocket listening;
        private final SSLContext tls;

        private Server(TcpSocket listening, SSLContext tls) {
            this.listening = listening;
            this.tls = tls;
        }

        /** Listens on {@code address}:{@code port} (0: a free one); TLS files are read and checked here, before anything connects. */
        public static Server listen(InetAddress address, int port, Tls tls) {
            SSLContext ctx = tls == null ? null : TlsContexts.forServer(tls);
            try {
                return new Server(TcpSocket.listen(address, port, 4), ctx);
            } catch (ErrnoException e) {
                throw new PageServerException("cannot listen on " + TcpSocket.format(new java.net.InetSocketAddress(address, port))
                        + ": " + e.reason(), e);
            }
        }

        public int port() {
            return listening.localPort();
        }

        /**
         * The next connection, TLS handshake done (a client without a certificate of the CA is refused here,
         * as a {@link PageServerException}); null once {@code wake} becomes readable.
         */
        public TcpStream accept(Fd wake) {
            TcpSocket conn = listening.accept(wake);
            if (conn == null) {
                return null;
            }
            try {
                conn.noDelay(true); // its answers must leave at once
                PlainWire plain = new PlainWire(conn, false, null, null);
                return new TcpStream(tls == null ? plain : TlsWire.server(plain, tls));
            } catch (RuntimeException e) {
                conn.close();
                throw e;
            }
        }

        @Override
        public void close() {
            listening.close();
        }
    }

    /** Sends all of {@code data} (native memory); on a corked socket it may wait in the kernel for the next push. */
    public void send(MemorySegment data) {
        wire.send(data);
    }

    /** Whether bytes can be spliced onto this stream as they are ({@link #sendFromPipe}): a plain one, not TLS. */
    public boolean splices() {
        return wire instanceof PlainWire;
    }

    /** Moves {@code n} bytes waiting in pipe {@code from} (its read end) onto a plain stream, without copying them. */
    public void sendFromPipe(Fd from, long n) {
        if (!(wire instanceof PlainWire plain)) {
            throw new IllegalStateException("bytes spliced onto a TLS stream");
        }
        plain.sendFromPipe(from, n);
    }

    /**
     * Moves up to {@code n} bytes of a plain stream into pipe {@code to} (its write end), the pipe referencing
     * the socket buffers' pages; returns how many, 0 when the peer has ended the stream.
     */
    public long recvToPipe(Fd to, long n) {
        if (!(wire instanceof PlainWire plain)) {
            throw new IllegalStateException("bytes spliced from a TLS stream");
        }
        return plain.recvToPipe(to, n);
    }

    /** Makes everything sent so far leave now: the sender waits for an answer next. */
    public void push() {
        wire.push();
    }

    /** Some bytes into {@code into}; 0 when the peer has ended the stream. */
    public long recv(MemorySegment into) {
        return wire.recv(into);
    }

    /** The peer as users write it, {@code 10.0.0.2:41234}. */
    public String peer() {
        return wire.peer();
    }

    /** Ends a recv blocked in another thread (it returns 0, or fails); safe from any thread. */
    public void shutdown() {
        wire.socket().shutdown();
    }

    /** This side's stream ends once what was sent has gone (TLS: after its close_notify). */
    public void shutdownOutput() {
        try {
            wire.push();
            wire.socket().shutdownOutput();
        } catch (RuntimeException e) {
            // the peer is gone already
        }
    }

    /** SO_SNDTIMEO and SO_RCVTIMEO of the socket: a send or recv blocked this long fails. */
    public void timeouts(Duration d) {
        wire.socket().timeouts(d);
    }

    @Override
    public void close() {
        wire.close();
    }
}
