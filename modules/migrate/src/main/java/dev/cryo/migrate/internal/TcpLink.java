package dev.cryo.migrate.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;

import dev.cryo.images.remote.ByteLink;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.pagexfer.TcpStream;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Fd;

/**
 * The image proxy's TCP connection to the image cache as a {@link ByteLink}: pagexfer's {@link TcpStream}
 * (corked on the proxy's side, TLS when asked), its failures said as the peer's role and address
 * ({@code the image cache at 10.0.0.1:27100: the connection is lost: ...}).
 */
public final class TcpLink implements ByteLink {
    private final TcpStream stream;
    private final String role;
    private final String peer;

    /** {@code role}: what the peer is, e.g. {@code "image cache"}. */
    public TcpLink(TcpStream stream, String role) {
        this.stream = stream;
        this.role = role;
        this.peer = "the " + role + " at " + stream.peer();
    }

    @Override
    public void send(MemorySegment data) {
        try {
            stream.send(data);
        } catch (CryoFailure e) {
            throw failure(e);
        }
    }

    @Override
    public long recv(MemorySegment into) {
        try {
            return stream.recv(into);
        } catch (CryoFailure e) {
            throw failure(e);
        }
    }

    /** Whether bytes can be spliced onto the link from a pipe (plain TCP, not TLS). */
    public boolean splices() {
        return stream.splices();
    }

    /** Moves {@code n} bytes waiting in pipe {@code from} onto the link, without copying them. */
    public void sendFromPipe(Fd from, long n) {
        try {
            stream.sendFromPipe(from, n);
        } catch (CryoFailure e) {
            throw failure(e);
        }
    }

    /** Up to {@code n} bytes from the link into pipe {@code to} without copying them; 0 when the peer ended the stream. */
    public long recvToPipe(Fd to, long n) {
        try {
            return stream.recvToPipe(to, n);
        } catch (CryoFailure e) {
            throw failure(e);
        }
    }

    @Override
    public void push() {
        try {
            stream.push();
        } catch (CryoFailure e) {
            throw failure(e);
        }
    }

    /** The page-server machinery names the peer by its address first: named here by its role too. */
    private RemoteImageException failure(CryoFailure e) {
        String m = e.getMessage();
        return new RemoteImageException(m.startsWith(stream.peer()) ? "the " + role + " at " + m : peer + ": " + m, e);
    }

    @Override
    public String peer() {
        return peer;
    }

    @Override
    public void shutdown() {
        try {
            stream.shutdown();
        } catch (CryoFailure e) {
            // gone already
        }
    }

    @Override
    public void finish(Duration limit) {
        try (stream; Arena a = Arena.ofConfined()) {
            stream.shutdownOutput();
            stream.timeouts(limit);
            MemorySegment sink = a.allocate(64 << 10);
            long deadline = System.nanoTime() + limit.toNanos();
            while (stream.recv(sink) > 0 && System.nanoTime() < deadline) {
                // what the peer still sends is of no use now
            }
        } catch (CryoFailure e) {
            // gone, or silent for the whole limit
        }
    }

    @Override
    public void close() {
        stream.close();
    }
}
