package dev.cryo.images.remote;

import java.lang.foreign.MemorySegment;

/**
 * A byte stream that frames travel on: a unix socket to or from a daemon ({@link UnixLink}), or the image
 * proxy's TCP connection to the image cache (plain or TLS). Data is off-heap memory, passed to the kernel as
 * it is. Failures are {@link RemoteImageException}s whose message starts with the peer.
 */
public interface ByteLink extends AutoCloseable {
    /** Sends all of {@code data} (native memory). */
    void send(MemorySegment data);

    /** Some bytes into {@code into} (native memory); 0 when the peer has ended the stream. */
    long recv(MemorySegment into);

    /** Makes what was sent leave now (a corked TCP socket); the sender is about to wait for an answer. */
    default void push() {}

    /** The peer as messages name it: {@code the image proxy at /run/cryo-image-proxy.sock}, {@code 10.0.0.2:41234}. */
    String peer();

    /** Ends a {@link #recv} blocked in another thread (it returns 0). */
    void shutdown();

    /**
     * Ends this side's stream once what was sent has gone, reads what the peer still sends for at most
     * {@code limit}, then closes: a side that gives up with a last frame ends so, since a socket closed with
     * unread data is reset and its peer may lose that frame.
     */
    void finish(java.time.Duration limit);

    @Override
    void close();
}
