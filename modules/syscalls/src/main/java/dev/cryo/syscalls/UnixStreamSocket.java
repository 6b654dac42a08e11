package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.sockaddr_un;
import dev.cryo.bindings.ucred;

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
    /** sizeof(sun_path) less its terminating NUL. */
    private static final int PATH_MAX = 107;

    private final Fd fd;

    private UnixStreamSocket(Fd fd) {
        this.fd = fd;
    }

    /** A socket bound to {@code path} (which must not exist) and listening, close-on-exec and non-blocking. */
    public static UnixStreamSocket listen(String path, int backlog) {
        UnixStreamSocket s = open(Linux.SOCK_NONBLOCK());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = address(a, path);
            Syscall.call("bind(" + path + ")", Linux.__NR_bind(), s.fd.fd(), addr.address(), addr.byteSize());
            Syscall.call("listen(" + path + ")", Linux.__NR_listen(), s.fd.fd(), backlog);
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** A socket connected to the one listening at {@code path}; close-on-exec. */
    public static UnixStreamSocket connect(String path) {
        UnixStreamSocket s = open(0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = address(a, path);
            while (true) {
                try {
                    Syscall.call("connect(" + path + ")", Linux.__NR_connect(), s.fd.fd(), addr.address(), addr.byteSize());
                    return s;
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EINTR)) {
                        throw e;
                    }
                }
            }
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** Both ends of a connected pair (tests). */
    public static UnixStreamSocket[] pair() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(ValueLayout.JAVA_INT, 2);
            Syscall.call("socketpair(AF_UNIX, SOCK_STREAM)", Linux.__NR_socketpair(), Linux.AF_UNIX(),
                    Linux.SOCK_STREAM() | Linux.SOCK_CLOEXEC(), 0, fds.address());
            return new UnixStreamSocket[] {new UnixStreamSocket(Fd.own(fds.getAtIndex(ValueLayout.JAVA_INT, 0))),
                    new UnixStreamSocket(Fd.own(fds.getAtIndex(ValueLayout.JAVA_INT, 1)))};
        }
    }

    private static UnixStreamSocket open(int flags) {
        return new UnixStreamSocket(Fd.own((int) Syscall.call("socket(AF_UNIX, SOCK_STREAM)", Linux.__NR_socket(),
                Linux.AF_UNIX(), Linux.SOCK_STREAM() | Linux.SOCK_CLOEXEC() | flags, 0)));
    }

    private static MemorySegment address(Arena a, String path) {
        byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > PATH_MAX) {
            throw new IllegalArgumentException("a unix socket path is 1 to " + PATH_MAX + " bytes long, not " + bytes.length
                    + ": " + path);
        }
        MemorySegment addr = sockaddr_un.allocate(a);
        addr.fill((byte) 0);
        sockaddr_un.sun_family(addr, (short) Linux.AF_UNIX());
        MemorySegment.copy(bytes, 0, addr, ValueLayout.JAVA_BYTE, sockaddr_un.sun_path$offset(), bytes.length);
        return addr;
    }

    /**
     * The next connection, close-on-exec and blocking; waits until a client connects or {@code wake} (an
     * eventfd or a pipe's read end) becomes readable, then returns null.
     */
    public UnixStreamSocket accept(Fd wake) {
        while (true) {
            short[] ready = Poll.poll(new int[] {fd.fd(), wake.fd()}, new short[] {(short) Linux.POLLIN(), (short) Linux.POLLIN()}, -1);
            if (ready[1] != 0) {
                return null;
            }
            try {
                return new UnixStreamSocket(Fd.own((int) Syscall.call("accept4", Linux.__NR_accept4(), fd.fd(), 0, 0,
                        Linux.SOCK_CLOEXEC())));
            } catch (ErrnoException e) {
                // a signal, a client that gave up while queued, or one another thread took first
                if (!e.is(Errno.EINTR) && !e.is(Errno.ECONNRESET) && !e.is(Errno.EAGAIN)) {
                    throw e;
                }
            }
        }
    }

    /** Who is at the other end (SO_PEERCRED: as it was at connect). */
    public SeqpacketSocket.Peer peer() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cred = ucred.allocate(a);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) cred.byteSize());
            Syscall.call("getsockopt(SO_PEERCRED)", Linux.__NR_getsockopt(), fd.fd(), Linux.SOL_SOCKET(), Linux.SO_PEERCRED(),
                    cred.address(), len.address());
            return new SeqpacketSocket.Peer(ucred.pid(cred), ucred.uid(cred), ucred.gid(cred));
        }
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
