package dev.cryo.pagexfer.internal;

import java.lang.foreign.MemorySegment;
import java.time.Duration;

import dev.cryo.pagexfer.PageServerException;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.TcpSocket;

/**
 * The byte stream as it is on the socket. With a {@code stall} limit the socket's send and receive timeouts
 * are one second: each second without progress runs {@code checkpoint} (which may cancel), and {@code stall}
 * of them in a row end the connection.
 */
public final class PlainWire implements Wire {
    private static final Duration TICK = Duration.ofSeconds(1);

    private final TcpSocket socket;
    private final boolean cork;
    private final Duration stall;
    private final Runnable checkpoint;
    private final String peer;

    /**
     * @param cork       the socket is corked and each {@link #push} switches TCP_NODELAY on, which sends what
     *                   the cork holds (the cork stays on); false: a push does nothing
     * @param stall      how long the peer may make no progress, or null for no limit
     * @param checkpoint runs once a second while the peer makes no progress (only with a stall limit)
     */
    public PlainWire(TcpSocket socket, boolean cork, Duration stall, Runnable checkpoint) {
        this.socket = socket;
        this.cork = cork;
        this.stall = stall;
        this.checkpoint = checkpoint == null ? () -> { } : checkpoint;
        this.peer = TcpSocket.format(socket.peer());
        if (stall != null) {
            socket.timeouts(TICK);
        }
    }

    @Override
    public void send(MemorySegment data) {
        long done = 0;
        long idle = 0;
        while (done < data.byteSize()) {
            try {
                done += socket.send(data.asSlice(done));
                idle = 0;
            } catch (ErrnoException e) {
                idle = waited(e, idle, "took no data");
            }
        }
    }

    @Override
    public void push() {
        if (cork) {
            try {
                socket.noDelay(true);
            } catch (ErrnoException e) {
                throw lost(e);
            }
        }
    }

    @Override
    public long recv(MemorySegment into) {
        long idle = 0;
        while (true) {
            try {
                return socket.recv(into);
            } catch (ErrnoException e) {
                idle = waited(e, idle, "sent nothing");
            }
        }
    }

    /** Moves {@code n} bytes that wait in pipe {@code from} (its read end) onto the socket, without copying them. */
    public void sendFromPipe(Fd from, long n) {
        long done = 0;
        long idle = 0;
        while (done < n) {
            try {
                long m = Io.splice(from.fd(), socket.fd().fd(), n - done,
                        Kernel.SPLICE_F_MOVE | Kernel.SPLICE_F_MORE);
                if (m == 0) {
                    throw new IllegalStateException("splice: the pipe held " + (n - done) + " bytes fewer than it was given");
                }
                done += m;
                idle = 0;
            } catch (ErrnoException e) {
                if (!e.is(Errno.EINTR)) {
                    idle = waited(e, idle, "took no data");
                }
            }
        }
    }

    /**
     * Moves up to {@code n} bytes from the socket into pipe {@code to} (its write end) without copying them
     * (the pipe references the socket buffers' pages); returns how many, 0 when the peer has ended the stream.
     */
    public long recvToPipe(Fd to, long n) {
        long idle = 0;
        while (true) {
            try {
                return Io.splice(socket.fd().fd(), to.fd(), n, Kernel.SPLICE_F_MOVE);
            } catch (ErrnoException e) {
                if (!e.is(Errno.EINTR)) {
                    idle = waited(e, idle, "sent nothing");
                }
            }
        }
    }

    /** A send or recv that failed: EAGAIN is a second without progress; anything else ends the connection. */
    private long waited(ErrnoException e, long idle, String what) {
        if (!e.is(Errno.EAGAIN) || stall == null) {
            throw lost(e);
        }
        checkpoint.run();
        long now = idle + TICK.toMillis();
        if (now >= stall.toMillis()) {
            throw new PageServerException(peer + ": " + what + " for " + stall.toSeconds() + " s");
        }
        return now;
    }

    private PageServerException lost(ErrnoException e) {
        return new PageServerException(peer + ": the connection is lost: " + e.reason(), e);
    }

    @Override
    public String peer() {
        return peer;
    }

    @Override
    public TcpSocket socket() {
        return socket;
    }

    @Override
    public void close() {
        socket.close();
    }
}
