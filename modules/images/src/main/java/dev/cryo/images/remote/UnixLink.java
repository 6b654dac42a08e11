package dev.cryo.images.remote;

import java.lang.foreign.MemorySegment;
import java.time.Duration;

import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Sockets;
import dev.cryo.syscalls.UnixStreamSocket;

/**
 * A {@link ByteLink} over a unix stream socket: cryo's connection to a daemon on this host, or a daemon's end
 * of one. A client may tick: with a {@code checkpoint} the socket's timeouts are one second, each second
 * without progress runs it (it may throw, to cancel), and {@code stall} of them in a row (when given) end the
 * connection.
 */
public final class UnixLink implements ByteLink {
    private static final Duration TICK = Duration.ofSeconds(1);

    private final UnixStreamSocket socket;
    private final String peer;
    private final Duration stall;
    private final Runnable checkpoint;

    private UnixLink(UnixStreamSocket socket, String peer, Duration stall, Runnable checkpoint) {
        this.socket = socket;
        this.peer = peer;
        this.stall = stall;
        this.checkpoint = checkpoint;
        if (checkpoint != null) {
            socket.timeouts(TICK);
        }
        sendBuffer(socket);
    }

    /** The bytes one side may have queued: an image's pieces go in few large sends (and few wake-ups of the reader). */
    private static final int SEND_BUFFER = 4 << 20;

    private static void sendBuffer(UnixStreamSocket socket) {
        try {
            Sockets.setIntOption(socket.fd(), Kernel.SOL_SOCKET,
                    Kernel.SO_SNDBUFFORCE, SEND_BUFFER);
        } catch (ErrnoException notRoot) {
            try {
                Sockets.setIntOption(socket.fd(), Kernel.SOL_SOCKET,
                        Kernel.SO_SNDBUF, SEND_BUFFER); // capped at net.core.wmem_max
            } catch (ErrnoException ignored) {
                // the default size works, in smaller pieces
            }
        }
    }

    /**
     * Connects to {@code daemon}. {@code stall}: how long it may make no progress (null: no limit);
     * {@code checkpoint}: runs each second without progress (null: none, and no ticks).
     */
    public static UnixLink connect(ImageDaemon daemon, Duration stall, Runnable checkpoint) {
        UnixStreamSocket s;
        try {
            s = UnixStreamSocket.connect(daemon.socket().toString());
        } catch (ErrnoException e) {
            String why = e.is(Errno.ENOENT) || e.is(Errno.ECONNREFUSED) ? "nothing listens there (start cryo " + command(daemon) + ")"
                    : e.reason();
            throw new RemoteImageException("cannot reach " + daemon + ": " + why, e);
        } catch (IllegalArgumentException e) {
            throw new RemoteImageException("cannot reach " + daemon + ": " + e.getMessage(), e);
        }
        try {
            return new UnixLink(s, daemon.toString(), stall, checkpoint);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private static String command(ImageDaemon daemon) {
        return daemon.role().replace(' ', '-');
    }

    /** A daemon's end of a connection it accepted; {@code peer} names the client. */
    public static UnixLink accepted(UnixStreamSocket socket, String peer) {
        return new UnixLink(socket, peer, null, null);
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
                idle = waited(e, idle, "takes no data");
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
                idle = waited(e, idle, "sends nothing");
            }
        }
    }

    /**
     * Moves {@code n} bytes waiting in {@code pipe} (its read end) onto the socket with splice(2): the pages a
     * dump's parasite vmspliced go on by reference, not copied through cryo. The pipe holding fewer bytes is an
     * error (the stream is then out of step: the connection must end).
     */
    public void sendFromPipe(Fd pipe, long n) {
        long done = 0;
        long idle = 0;
        while (done < n) {
            try {
                long m = Io.splice(pipe.fd(), socket.fd().fd(), n - done, Kernel.SPLICE_F_MOVE | Kernel.SPLICE_F_MORE);
                if (m == 0) {
                    throw new IllegalStateException("the pipe held " + (n - done) + " bytes fewer than it was given");
                }
                done += m;
                idle = 0;
            } catch (ErrnoException e) {
                idle = waited(e, idle, "takes no data");
            }
        }
    }

    /** Sends {@code file} (SCM_RIGHTS, on one byte): the peer gets the same open file description. */
    public void sendFd(Fd file) {
        long idle = 0;
        while (true) {
            try {
                Sockets.sendFd(socket.fd(), file.fd());
                return;
            } catch (ErrnoException e) {
                idle = waited(e, idle, "takes no data");
            }
        }
    }

    /** The file that the peer's {@link #sendFd} sent, now open here; the peer gone first is an error naming it. */
    public Fd receiveFd() {
        long idle = 0;
        while (true) {
            try {
                Fd f = Sockets.recvFd(socket.fd());
                if (f == null) {
                    throw new RemoteImageException(peer + " closed the connection before the file it announced");
                }
                return f;
            } catch (ErrnoException e) {
                idle = waited(e, idle, "sends nothing");
            } catch (IllegalStateException e) {
                throw new RemoteImageException(peer + ": " + e.getMessage(), e);
            }
        }
    }

    /** A send or recv that failed: EAGAIN is a second without progress; anything else ends the connection. */
    private long waited(ErrnoException e, long idle, String what) {
        if (!e.is(Errno.EAGAIN) || checkpoint == null) {
            throw new RemoteImageException(peer + ": the connection is lost: " + e.reason(), e);
        }
        checkpoint.run();
        long now = idle + TICK.toMillis();
        if (stall != null && now >= stall.toMillis()) {
            throw new RemoteImageException(peer + " " + what + " for " + stall.toSeconds() + " s");
        }
        return now;
    }

    @Override
    public String peer() {
        return peer;
    }

    @Override
    public void shutdown() {
        socket.shutdown();
    }

    @Override
    public void finish(Duration limit) {
        try (socket; java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            socket.shutdownOutput();
            socket.timeouts(limit);
            MemorySegment sink = a.allocate(64 << 10);
            long deadline = System.nanoTime() + limit.toNanos();
            while (socket.recv(sink) > 0 && System.nanoTime() < deadline) {
                // what the peer still sends is of no use now
            }
        } catch (ErrnoException e) {
            // gone, or silent for the whole limit
        }
    }

    public UnixStreamSocket socket() {
        return socket;
    }

    @Override
    public void close() {
        socket.close();
    }
}
