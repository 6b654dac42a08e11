package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.time.Duration;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.sockaddr_in;
import dev.cryo.bindings.sockaddr_in6;

/**
 * A TCP socket made and driven with system calls: listen, accept, connect, the corking options
 * ({@code TCP_CORK}, {@code TCP_NODELAY}), and send/recv straight from and into off-heap memory.
 *
 * <pre>{@code
 * try (TcpSocket s = TcpSocket.connect(InetAddress.ofLiteral("127.0.0.1"), port)) {
 *     s.cork(true);            // hold partial segments back until a push
 *     s.sendFully(pages);      // a MemorySegment, handed to the kernel as it is
 *     s.noDelay(true);         // pushes what is corked at once (the cork stays on for what follows)
 * }
 * }</pre>
 *
 * With {@link #timeouts} set, a send or recv that makes no progress for that long fails with
 * {@code EAGAIN}, so that a caller can look at a cancellation flag and try again.
 */
public final class TcpSocket implements AutoCloseable {
    private static final ValueLayout.OfShort PORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Fd fd;
    private final InetSocketAddress peer;

    private TcpSocket(Fd fd, InetSocketAddress peer) {
        this.fd = fd;
        this.peer = peer;
    }

    /** An IP address as written, IPv4 or IPv6 ({@code inet_pton}: no host names, no DNS). */
    public static InetAddress address(String literal) {
        try {
            return InetAddress.ofLiteral(literal);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + literal + "\" is not an IPv4 or IPv6 address");
        }
    }

    /** Connects to {@code address}:{@code port}; the socket is close-on-exec. */
    public static TcpSocket connect(InetAddress address, int port) {
        Fd fd = open(address);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = sockaddr(a, address, port);
            call("connect(" + format(new InetSocketAddress(address, port)) + ")", Linux.__NR_connect(), fd.fd(), sa.address(), sa.byteSize());
            return new TcpSocket(fd, new InetSocketAddress(address, port));
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /** A listening socket on {@code address}:{@code port} (0: a free port, see {@link #localPort}), SO_REUSEADDR set. */
    public static TcpSocket listen(InetAddress address, int port, int backlog) {
        Fd fd = open(address);
        try (Arena a = Arena.ofConfined()) {
            Sockets.setIntOption(fd, Linux.SOL_SOCKET(), Linux.SO_REUSEADDR(), 1);
            MemorySegment sa = sockaddr(a, address, port);
            Syscall.call("bind(" + format(new InetSocketAddress(address, port)) + ")", Linux.__NR_bind(), fd.fd(), sa.address(), sa.byteSize());
            Syscall.call("listen", Linux.__NR_listen(), fd.fd(), backlog);
            return new TcpSocket(fd, null);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /** Waits for a connection on a listening socket; the new socket is close-on-exec. */
    public TcpSocket accept() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(sockaddr_in6.layout());
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            while (true) {
                len.set(ValueLayout.JAVA_INT, 0, (int) sa.byteSize());
                try {
                    int s = (int) Syscall.call("accept4", Linux.__NR_accept4(), fd.fd(), sa.address(), len.address(), Linux.SOCK_CLOEXEC());
                    return new TcpSocket(Fd.own(s), socketAddress(sa));
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EINTR)) {
                        throw e;
                    }
                }
            }
        }
    }

    /**
     * {@link #accept()}, or null once {@code wake} (an eventfd or a pipe's read end) becomes readable: a
     * server that another thread stops. The listening socket may be blocking; a connection that went away
     * between poll and accept is waited past.
     */
    public TcpSocket accept(Fd wake) {
        while (true) {
            short[] ready = Poll.poll(new int[] {fd.fd(), wake.fd()}, new short[] {(short) Linux.POLLIN(), (short) Linux.POLLIN()}, -1);
            if (ready[1] != 0) {
                return null;
            }
            if (ready[0] != 0) {
                return accept();
            }
        }
    }

    /** The port this socket is bound to (the one the kernel chose for port 0). */
    public int localPort() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(sockaddr_in6.layout());
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) sa.byteSize());
            Syscall.call("getsockname", Linux.__NR_getsockname(), fd.fd(), sa.address(), len.address());
            return socketAddress(sa).getPort();
        }
    }

    /** The other end of a connected socket. */
    public InetSocketAddress peer() {
        return peer;
    }

    public Fd fd() {
        return fd;
    }

    /** TCP_CORK: partial segments wait until the cork is removed or a push (see {@link #noDelay}). */
    public void cork(boolean on) {
        Sockets.setIntOption(fd, Linux.IPPROTO_TCP(), Linux.TCP_CORK(), on ? 1 : 0);
    }

    /**
     * TCP_NODELAY: no Nagle delay. Setting it on also pushes whatever the socket holds back at that moment,
     * corked or not (tcp_push_pending_frames); a cork that is on stays on for what is sent later.
     */
    public void noDelay(boolean on) {
        Sockets.setIntOption(fd, Linux.IPPROTO_TCP(), Linux.TCP_NODELAY(), on ? 1 : 0);
    }

    /**
     * SO_SNDBUF: how much sent data the socket may hold before a send waits (the kernel doubles it for its
     * bookkeeping and caps it at net.core.wmem_max); fixes it where the kernel would grow it from 16 KiB.
     */
    public void sendBuffer(int bytes) {
        Sockets.setIntOption(fd, Linux.SOL_SOCKET(), Linux.SO_SNDBUF(), bytes);
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

    /** Sends all of {@code data}; with {@link #timeouts}, fails with EAGAIN when the peer takes nothing for that long. */
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

    /** shutdown(SHUT_WR): the peer reads the end of the stream once it has the rest. */
    public void shutdownOutput() {
        StreamCalls.shutdownOutput(fd);
    }

    /** shutdown(SHUT_RDWR): a recv blocked in another thread returns 0, a send fails; safe from any thread. */
    public void shutdown() {
        StreamCalls.shutdown(fd);
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return peer == null ? "listening socket on port " + localPort() : "connection to " + format(peer);
    }

    /** {@code 10.0.0.1:4444} or {@code [fd00::1]:4444}: an address as users write it, never looked up. */
    public static String format(InetSocketAddress a) {
        InetAddress ip = a.getAddress();
        String host = ip == null ? a.getHostString() : ip.getHostAddress();
        return (ip instanceof Inet6Address ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    private static Fd open(InetAddress address) {
        int family = address instanceof Inet6Address ? Linux.AF_INET6() : Linux.AF_INET();
        return Fd.own((int) Syscall.call("socket(TCP)", Linux.__NR_socket(), family, Linux.SOCK_STREAM() | Linux.SOCK_CLOEXEC(),
                Linux.IPPROTO_TCP()));
    }

    private static long call(String what, long nr, long a, long b, long c) {
        while (true) {
            try {
                return Syscall.call(what, nr, a, b, c);
            } catch (ErrnoException e) {
                if (!e.is(Errno.EINTR)) {
                    throw e;
                }
            }
        }
    }

    private static MemorySegment sockaddr(Arena a, InetAddress address, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not between 0 and 65535");
        }
        if (address instanceof Inet4Address) {
            MemorySegment sa = sockaddr_in.allocate(a);
            sockaddr_in.sin_family(sa, (short) Linux.AF_INET());
            sa.set(PORT, sockaddr_in.sin_port$offset(), (short) port);
            MemorySegment.copy(MemorySegment.ofArray(address.getAddress()), 0, sa, sockaddr_in.sin_addr$offset(), 4);
            return sa;
        }
        MemorySegment sa = sockaddr_in6.allocate(a);
        sockaddr_in6.sin6_family(sa, (short) Linux.AF_INET6());
        sa.set(PORT, sockaddr_in6.sin6_port$offset(), (short) port);
        MemorySegment.copy(MemorySegment.ofArray(address.getAddress()), 0, sa, sockaddr_in6.sin6_addr$offset(), 16);
        sockaddr_in6.sin6_scope_id(sa, ((Inet6Address) address).getScopeId());
        return sa;
    }

    private static InetSocketAddress socketAddress(MemorySegment sa) {
        int family = sa.get(ValueLayout.JAVA_SHORT, 0);
        int port = Short.toUnsignedInt(sa.get(PORT, sockaddr_in.sin_port$offset()));
        byte[] ip = family == Linux.AF_INET()
                ? sa.asSlice(sockaddr_in.sin_addr$offset(), 4).toArray(ValueLayout.JAVA_BYTE)
                : sa.asSlice(sockaddr_in6.sin6_addr$offset(), 16).toArray(ValueLayout.JAVA_BYTE);
        try {
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("the kernel gave an address of " + ip.length + " bytes", e);
        }
    }
}
