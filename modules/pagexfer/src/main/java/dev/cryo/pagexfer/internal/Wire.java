package dev.cryo.pagexfer.internal;

import java.lang.foreign.MemorySegment;

import dev.cryo.syscalls.TcpSocket;

/**
 * One page-server connection's byte stream, plain or TLS: bytes out from off-heap memory, a push when a
 * command waits for its answer, bytes in. Failures are {@link dev.cryo.pagexfer.PageServerException}s whose
 * message starts with the peer.
 */
public interface Wire extends AutoCloseable {
    /** Sends all of {@code data}. On a corked socket it may wait in the kernel until the next push. */
    void send(MemorySegment data);

    /** Makes everything sent so far leave now: the command before it waits for an answer. */
    void push();

    /** Some bytes into {@code into}; 0 when the peer has ended the stream. */
    long recv(MemorySegment into);

    /** Fills {@code into} unless the stream ends first; returns the bytes received. */
    default long recvFully(MemorySegment into) {
        long done = 0;
        while (done < into.byteSize()) {
            long n = recv(into.asSlice(done));
            if (n == 0) {
                break;
            }
            done += n;
        }
        return done;
    }

    /**
     * The largest piece of data that goes out as one record (TLS: 16 KiB), or 0 for a plain stream. CRIU's
     * TLS server reads the pages of a run record by record in 64 KiB chunks counted from the run's start, and
     * loses its place if a record crosses a chunk's end: a sender cuts the pages of a run at multiples of this.
     */
    default long recordSize() {
        return 0;
    }

    /** The peer as users write it, {@code 10.0.0.2:41234}. */
    String peer();

    TcpSocket socket();

    @Override
    void close();
}
