package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.sockaddr_un;
import dev.cryo.bindings.ucred;

/**
 * What {@link SeqpacketSocket} and {@link UnixStreamSocket} share: making, binding, connecting and
 * accepting a unix socket bound to a path, of either type. Each call hands back an {@link Fd} its caller owns.
 */
final class UnixSockets {
    /** sizeof(sun_path) less its terminating NUL. */
    private static final int PATH_MAX = 107;

    private UnixSockets() {}

    /** A socket of {@code type} (SOCK_STREAM or SOCK_SEQPACKET), close-on-exec, with {@code flags} added. */
    static Fd open(int type, int flags) {
        return Fd.own((int) Syscall.call("socket(AF_UNIX, " + typeName(type) + ")", Linux.__NR_socket(), Linux.AF_UNIX(),
                type | Linux.SOCK_CLOEXEC() | flags, 0));
    }

    /** A socket bound to {@code path} (which must not exist) and listening, close-on-exec and non-blocking. */
    static Fd listen(int type, String path, int backlog) {
        Fd fd = open(type, Linux.SOCK_NONBLOCK());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = address(a, path);
            Syscall.call("bind(" + path + ")", Linux.__NR_bind(), fd.fd(), addr.address(), addr.byteSize());
            Syscall.call("listen(" + path + ")", Linux.__NR_listen(), fd.fd(), backlog);
            return fd;
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /** A socket connected to the one listening at {@code path}; close-on-exec. EINTR is retried. */
    static Fd connect(int type, String path) {
        Fd fd = open(type, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = address(a, path);
            while (true) {
                try {
                    Syscall.call("connect(" + path + ")", Linux.__NR_connect(), fd.fd(), addr.address(), addr.byteSize());
                    return fd;
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EINTR)) {
                        throw e;
                    }
                }
            }
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /** Both ends of a connected pair of {@code type}, close-on-exec. */
    static Fd[] pair(int type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(ValueLayout.JAVA_INT, 2);
            Syscall.call("socketpair(AF_UNIX, " + typeName(type) + ")", Linux.__NR_socketpair(), Linux.AF_UNIX(),
                    type | Linux.SOCK_CLOEXEC(), 0, fds.address());
            return new Fd[] {Fd.own(fds.getAtIndex(ValueLayout.JAVA_INT, 0)), Fd.own(fds.getAtIndex(ValueLayout.JAVA_INT, 1))};
        }
    }

    /**
     * The next connection on {@code listening}, close-on-exec and blocking; waits until a client connects or
     * {@code wake} (an eventfd or a pipe's read end) becomes readable, then returns null.
     */
    static Fd accept(Fd listening, Fd wake) {
        while (true) {
            short[] ready = Poll.poll(new int[] {listening.fd(), wake.fd()},
                    new short[] {(short) Linux.POLLIN(), (short) Linux.POLLIN()}, -1);
            if (ready[1] != 0) {
                return null;
            }
            Fd connection = acceptReady(listening);
            if (connection != null) {
                return connection;
            }
        }
    }

    /**
     * The connection waiting on {@code listening} (poll said so), close-on-exec; null if it went meanwhile (a
     * signal, a client that gave up while queued, or one another thread took first).
     */
    static Fd acceptReady(Fd listening) {
        try {
            // the listening socket is non-blocking, the connection (accept4's flags alone decide) is not
            return Fd.own((int) Syscall.call("accept4", Linux.__NR_accept4(), listening.fd(), 0, 0, Linux.SOCK_CLOEXEC()));
        } catch (ErrnoException e) {
            if (e.is(Errno.EINTR) || e.is(Errno.ECONNRESET) || e.is(Errno.EAGAIN)) {
                return null;
            }
            throw e;
        }
    }

    /** Who is at the other end of a connected socket (SO_PEERCRED: as it was at connect or socketpair). */
    static SeqpacketSocket.Peer peer(Fd fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cred = ucred.allocate(a);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) cred.byteSize());
            Syscall.call("getsockopt(SO_PEERCRED)", Linux.__NR_getsockopt(), fd.fd(), Linux.SOL_SOCKET(), Linux.SO_PEERCRED(),
                    cred.address(), len.address());
            return new SeqpacketSocket.Peer(ucred.pid(cred), ucred.uid(cred), ucred.gid(cred));
        }
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

    private static String typeName(int type) {
        return type == Linux.SOCK_SEQPACKET() ? "SOCK_SEQPACKET" : "SOCK_STREAM";
    }
}
