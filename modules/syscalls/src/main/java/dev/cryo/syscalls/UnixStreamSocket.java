package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.time.Duration;

import dev.cryo.bindings.Linux;

/**
 * A unix socket of type {@code SOCK_STREAM} bound to a path: a byte stream between processes of one host,
 * sent and received straight from and into off-heap memory, as {@link TcpSocket} is over the network. It owns
 * its fd. {@link #shutdown()} may be called from another thread to end a blocked {@link #recv} or
 * {@link #accept}; {@link #close()} only by the owner.
 *
 * <pre>{@code
 * try (UnixStreamSocket s = UnixStreamSocket.connect("/run/cryo-image-proxy.sock")) {
 *     s.sendFully(frame);       // a MemorySegment, handed to the kernel as it is
 *     long n = s.recv(buffer);  // 0 when the peer has closed its side
 * }
 * }</pre>
 *
 * With {@link #timeouts} set, a send or recv that makes no progress for that long fails with {@code EAGAIN},
 * so that a caller can look at a cancellation flag and try again.
 */
public final class UnixStreamSocket implements AutoCloseable {
    private final Fd fd;

    private UnixStreamSocket(Fd fd) {
        this.fd = fd;
    }

    /** A socket bound to {@code path} (which must not exist) and listening, close-on-exec and non-blocking. */
    public static UnixStreamSocket listen(String path, int backlog) {
        return new UnixStreamSocket(UnixSockets.listen(Linux.SOCK_STREAM(), path, backlog));
    }

    /** A socket connected to the one listening at {@code path}; close-on-exec. */
    public static UnixStreamSocket connect(String path) {
        return new UnixStreamSocket(UnixSockets.connect(Linux.SOCK_STREAM(), path));
    }

    /** Both ends of a connected pair (tests). */
    public static UnixStreamSocket[] pair() {
        Fd[] fds = UnixSockets.pair(Linux.SOCK_STREAM());
        return new UnixStreamSocket[] {new UnixStreamSocket(fds[0]), new UnixStreamSocket(fds[1])};
    }

    /**
     * The next connection, close-on-exec and blocking; waits until a client connects or {@code wake} (an
     * eventfd or a pipe's read end) becomes readable, then returns null.
     */
    public UnixStreamSocket accept(Fd wake) {
        Fd connection = UnixSockets.accept(fd, wake);
        return connection == null ? null : new UnixStreamSocket(connection);
    }

    /** Who is at the other end (SO_PEERCRED: as it was at connect). */
    public SeqpacketSocket.Peer peer() {
        return UnixSockets.peer(fd);
    }

    /** SO_SNDTIMEO and SO_RCVTIMEO: a send or recv that blocks this long fails with EAGAIN. Zero: never. */
    public void timeouts(Duration d) {
        StreamCalls.timeouts(fd, d);
    }

    /**
     * One {@code send(2)} of up to all of {@code data}, without SIGPIPE (a peer that went away is EPIPE);
     * returns the bytes the kernel took. EINTR is retried.
     */
    public long send(MemorySegment data) {
        return StreamCalls.send(fd, data);
    }

    /** Sends all of {@code data}. */
    public void sendFully(MemorySegment data) {
        StreamCalls.sendFully(fd, data);
    }

    /** One {@code recv(2)} into {@code buf}; returns the bytes received, 0 when the peer has closed its side. */
    public long recv(MemorySegment buf) {
        return StreamCalls.recv(fd, buf);
    }

    /** Receives until {@code buf} is full or the peer closes; returns the bytes received. */
    public long recvFully(MemorySegment buf) {
        return StreamCalls.recvFully(fd, buf);
    }

    /** Ends every blocked and later send and recv on this socket (a recv returns 0); safe from any thread. */
    public void shutdown() {
        StreamCalls.shutdown(fd);
    }

    /** shutdown(SHUT_WR): the peer reads the end of the stream once it has the rest. */
    public void shutdownOutput() {
        StreamCalls.shutdownOutput(fd);
    }

    public Fd fd() {
        return fd;
    }

    @Override
    public void close() {
        fd.close();
    }
}
