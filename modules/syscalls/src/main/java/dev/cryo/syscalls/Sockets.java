package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.cmsghdr;
import dev.cryo.bindings.iovec;
import dev.cryo.bindings.msghdr;

/**
 * Sockets that cryo holds (its own, or duplicates of a task's through pidfd_getfd: the same socket): options,
 * names, queue sizes, and the data queued in them read without consuming it (MSG_PEEK with SO_PEEK_OFF, as
 * CRIU does), with the fds that ride along (SCM_RIGHTS).
 */
public final class Sockets {
    private Sockets() {}

    /** CMSG_LEN(sizeof(int)) and CMSG_SPACE(sizeof(int)) on x86-64: a 16-byte cmsghdr, then the int, padded to 8. */
    public static final int CMSG_LEN_INT = cmsgLen(1);
    public static final int CMSG_SPACE_INT = cmsgSpace(1);

    /** CMSG_LEN for {@code n} ints: the header, then the ints. */
    public static int cmsgLen(int n) {
        return (int) cmsghdr.sizeof() + 4 * n;
    }

    /** CMSG_SPACE for {@code n} ints: CMSG_LEN rounded up to the header's alignment. */
    public static int cmsgSpace(int n) {
        long align = cmsghdr.layout().byteAlignment();
        return (int) ((cmsgLen(n) + align - 1) & -align);
    }

    // recvmsg(2) of one byte and one fd, built for another task's memory: msghdr, its iovec, the byte, the control.
    private static final long RECV_IOV = align(msghdr.sizeof(), iovec.layout().byteAlignment());
    private static final long RECV_BYTE = RECV_IOV + iovec.sizeof();
    /** Where, in {@link #recvOneFd}'s block, the control buffer (one SCM_RIGHTS fd) lies. */
    public static final long RECV_ONE_FD_CONTROL = align(RECV_BYTE + 1, cmsghdr.layout().byteAlignment());
    /** Bytes of {@link #recvOneFd}'s block. */
    public static final long RECV_ONE_FD_BYTES = RECV_ONE_FD_CONTROL + CMSG_SPACE_INT;

    private static long align(long n, long to) {
        return (n + to - 1) & -to;
    }

    /**
     * A {@code struct msghdr} for recvmsg(2) of one byte and one fd, with its iovec, the byte and the control
     * buffer in the same block, whose pointers hold for the block written at address {@code at} (of another
     * task, whose recvmsg it is). After the call, the fd is {@link #passedFd} of the control buffer, read
     * back from {@code at + RECV_ONE_FD_CONTROL}.
     */
    public static MemorySegment recvOneFd(SegmentAllocator allocator, long at) {
        MemorySegment block = allocator.allocate(RECV_ONE_FD_BYTES, msghdr.layout().byteAlignment());
        block.fill((byte) 0);
        msghdr.msg_iov(block, MemorySegment.ofAddress(at + RECV_IOV));
        msghdr.msg_iovlen(block, 1);
        msghdr.msg_control(block, MemorySegment.ofAddress(at + RECV_ONE_FD_CONTROL));
        msghdr.msg_controllen(block, CMSG_SPACE_INT);
        MemorySegment iov = block.asSlice(RECV_IOV, iovec.sizeof());
        iovec.iov_base(iov, MemorySegment.ofAddress(at + RECV_BYTE));
        iovec.iov_len(iov, 1);
        return block;
    }

    /** The fd that a control buffer of {@link #CMSG_SPACE_INT} bytes carries (SCM_RIGHTS), or -1 if none. */
    public static int passedFd(MemorySegment control) {
        if (cmsghdr.cmsg_len(control) < CMSG_LEN_INT || cmsghdr.cmsg_level(control) != Linux.SOL_SOCKET()
                || cmsghdr.cmsg_type(control) != Linux.SCM_RIGHTS()) {
            return -1;
        }
        return control.get(ValueLayout.JAVA_INT, cmsghdr.sizeof());
    }

    public static Fd socket(int family, int type, int protocol) {
        return Fd.own((int) Syscall.call("socket(" + family + ", " + type + ", " + protocol + ")", Linux.__NR_socket(),
                family, type | Linux.SOCK_CLOEXEC(), protocol));
    }

    /** socketpair(AF_UNIX, type): both ends, cryo's. */
    public static Fd[] pair(int type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(ValueLayout.JAVA_INT, 2);
            Syscall.call("socketpair(AF_UNIX, " + type + ")", Linux.__NR_socketpair(), Linux.AF_UNIX(),
                    type | Linux.SOCK_CLOEXEC(), 0, fds.address());
            return new Fd[] {Fd.own(fds.getAtIndex(ValueLayout.JAVA_INT, 0)), Fd.own(fds.getAtIndex(ValueLayout.JAVA_INT, 1))};
        }
    }

    public static int getIntOption(Fd sock, int level, int option) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            getOption(sock, level, option, v);
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public static void setIntOption(Fd sock, int level, int option, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            setOption(sock, level, option, v);
        }
    }

    /** getsockopt into {@code into}; returns the length the kernel wrote. */
    public static int getOption(Fd sock, int level, int option, MemorySegment into) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) into.byteSize());
            Syscall.call("getsockopt(" + level + ", " + option + ")", Linux.__NR_getsockopt(), sock.fd(), level, option,
                    into.address(), len.address());
            return len.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public static void setOption(Fd sock, int level, int option, MemorySegment value) {
        Syscall.call("setsockopt(" + level + ", " + option + ")", Linux.__NR_setsockopt(), sock.fd(), level, option,
                value.address(), value.byteSize());
    }

    /** getsockname: the address the socket is bound to, as the kernel writes it (sockaddr bytes). */
    public static byte[] localAddress(Fd sock) {
        return address(sock, Linux.__NR_getsockname(), "getsockname");
    }

    /** getpeername: the address of the socket's peer (sockaddr bytes); ENOTCONN when it has none. */
    public static byte[] peerAddress(Fd sock) {
        return address(sock, Linux.__NR_getpeername(), "getpeername");
    }

    private static byte[] address(Fd sock, long nr, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(128, 8);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 128);
            Syscall.call(name, nr, sock.fd(), buf.address(), len.address());
            return buf.asSlice(0, Math.min(128, len.get(ValueLayout.JAVA_INT, 0))).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    public static void bind(Fd sock, MemorySegment address) {
        Syscall.call("bind", Linux.__NR_bind(), sock.fd(), address.address(), address.byteSize());
    }

    public static void connect(Fd sock, MemorySegment address) {
        Syscall.call("connect", Linux.__NR_connect(), sock.fd(), address.address(), address.byteSize());
    }

    public static void listen(Fd sock, int backlog) {
        Syscall.call("listen(" + backlog + ")", Linux.__NR_listen(), sock.fd(), backlog);
    }

    /** accept4 of the next waiting connection (blocking unless the socket is non-blocking). */
    public static Fd accept(Fd sock) {
        return Fd.own((int) Syscall.call("accept4", Linux.__NR_accept4(), sock.fd(), 0, 0, Linux.SOCK_CLOEXEC()));
    }

    /** An ioctl that writes one int (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD). */
    public static int ioctlInt(Fd sock, String what, long request) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            Io.ioctl(what, sock.fd(), request, v.address());
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** SIOCUNIXFILE: the file a unix socket is bound to, opened O_PATH (ENOENT when it is not bound to a path). */
    public static Fd unixFile(Fd sock) {
        return Fd.own((int) Io.ioctl("SIOCUNIXFILE", sock.fd(), Linux.SIOCUNIXFILE(), 0));
    }

    /** sendmsg with one byte and SCM_RIGHTS carrying {@code fd}: the receiver gets the same open file description. */
    public static void sendFd(Fd sock, int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(1);
            if (send(sock, one, new int[] {fd}, 0) != 1) {
                throw new IllegalStateException("sendmsg(SCM_RIGHTS " + fd + ") sent nothing");
            }
        }
    }

    /**
     * recvmsg of the one byte that {@link #sendFd} sent, with the fd riding on it (close-on-exec here). Returns
     * null when the peer ended the stream; throws when the byte came without an fd. EINTR is retried; EAGAIN (a
     * socket with a timeout) is thrown for the caller to wait on.
     */
    public static Fd recvFd(Fd sock) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(1);
            MemorySegment iov = iovec.allocate(a);
            iovec.iov_base(iov, one);
            iovec.iov_len(iov, 1);
            MemorySegment control = a.allocate(cmsgSpace(1), cmsghdr.layout().byteAlignment());
            MemorySegment msg = msghdr.allocate(a);
            msghdr.msg_iov(msg, iov);
            msghdr.msg_iovlen(msg, 1);
            msghdr.msg_control(msg, control);
            msghdr.msg_controllen(msg, control.byteSize());
            long n;
            while (true) {
                try {
                    n = Syscall.call("recvmsg(SCM_RIGHTS)", Linux.__NR_recvmsg(), sock.fd(), msg.address(), Linux.MSG_CMSG_CLOEXEC());
                    break;
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EINTR)) {
                        throw e;
                    }
                }
            }
            if (n == 0) {
                return null;
            }
            Fd got = null;
            if (msghdr.msg_controllen(msg) >= cmsgLen(1) && cmsghdr.cmsg_level(control) == Linux.SOL_SOCKET()
                    && cmsghdr.cmsg_type(control) == Linux.SCM_RIGHTS()) {
                got = Fd.own(control.get(ValueLayout.JAVA_INT, cmsghdr.sizeof()));
            }
            if ((msghdr.msg_flags(msg) & Linux.MSG_CTRUNC()) != 0) {
                if (got != null) {
                    got.close();
                }
                throw new IllegalStateException("recvmsg(SCM_RIGHTS): more than one fd came with the byte");
            }
            if (got == null) {
                throw new IllegalStateException("recvmsg(SCM_RIGHTS): a byte came without the fd it should carry");
            }
            return got;
        }
    }

    /**
     * sendmsg of {@code data} as one datagram or stream write, with {@code fds} (cryo's) as SCM_RIGHTS when
     * there are any. Returns the bytes sent.
     */
    public static long send(Fd sock, MemorySegment data, int[] fds, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iov = iovec.allocate(a);
            iovec.iov_base(iov, data);
            iovec.iov_len(iov, data.byteSize());
            MemorySegment msg = msghdr.allocate(a);
            msghdr.msg_iov(msg, iov);
            msghdr.msg_iovlen(msg, 1);
            if (fds.length > 0) {
                MemorySegment control = a.allocate(cmsgSpace(fds.length), cmsghdr.layout().byteAlignment());
                cmsghdr.cmsg_len(control, cmsgLen(fds.length));
                cmsghdr.cmsg_level(control, Linux.SOL_SOCKET());
                cmsghdr.cmsg_type(control, Linux.SCM_RIGHTS());
                MemorySegment.copy(fds, 0, control, ValueLayout.JAVA_INT, cmsghdr.sizeof(), fds.length);
                msghdr.msg_control(msg, control);
                msghdr.msg_controllen(msg, control.byteSize());
            }
            return Syscall.call("sendmsg(" + data.byteSize() + " bytes, " + fds.length + " fds)", Linux.__NR_sendmsg(),
                    sock.fd(), msg.address(), flags);
        }
    }

    /** shutdown(2): {@code how} is SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2. */
    public static void shutdown(Fd sock, int how) {
        Syscall.call("shutdown(" + how + ")", Linux.__NR_shutdown(), sock.fd(), how);
    }

    /**
     * send(MSG_DONTWAIT) of all of {@code data} as one datagram or stream write; fails rather than blocks
     * when the peer's queue has no room. Returns the bytes sent.
     */
    public static long sendNow(Fd sock, MemorySegment data) {
        return Syscall.call("send(MSG_DONTWAIT, " + data.byteSize() + " bytes)", Linux.__NR_sendto(), sock.fd(), data.address(),
                data.byteSize(), Linux.MSG_DONTWAIT(), 0, 0);
    }

    /** recvfrom(MSG_PEEK | MSG_DONTWAIT): the next queued bytes (a datagram, or stream bytes), or -1 when none wait. */
    public static long peek(Fd sock, MemorySegment buf) {
        try {
            return Syscall.call("recvfrom(MSG_PEEK)", Linux.__NR_recvfrom(), sock.fd(), buf.address(), buf.byteSize(),
                    Linux.MSG_PEEK() | Linux.MSG_DONTWAIT(), 0, 0);
        } catch (ErrnoException e) {
            if (e.is(Errno.EAGAIN)) {
                return -1;
            }
            throw e;
        }
    }

    /**
     * One message (a datagram, or the stream bytes up to the next message boundary the kernel keeps: where fds
     * ride) peeked into {@code buf}: {@code length} bytes, -1 when nothing waits; {@code truncated} when it did
     * not fit; {@code fds} the files that ride along, now open in cryo too (close them).
     */
    public record Peeked(long length, boolean truncated, List<Fd> fds) {}

    /**
     * recvmsg(MSG_PEEK | MSG_DONTWAIT) with room for {@code maxFds} passed fds: with SO_PEEK_OFF set, each call
     * returns the next message. Control messages other than SCM_RIGHTS (credentials) are not kept.
     */
    public static Peeked peekMessage(Fd sock, MemorySegment buf, int maxFds) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iov = iovec.allocate(a);
            iovec.iov_base(iov, buf);
            iovec.iov_len(iov, buf.byteSize());
            long controlSize = cmsgSpace(maxFds) + 2L * cmsgSpace(8); // and room for credentials
            MemorySegment control = a.allocate(controlSize, cmsghdr.layout().byteAlignment());
            MemorySegment msg = msghdr.allocate(a);
            msghdr.msg_iov(msg, iov);
            msghdr.msg_iovlen(msg, 1);
            msghdr.msg_control(msg, control);
            msghdr.msg_controllen(msg, controlSize);
            long n;
            try {
                n = Syscall.call("recvmsg(MSG_PEEK)", Linux.__NR_recvmsg(), sock.fd(), msg.address(),
                        Linux.MSG_PEEK() | Linux.MSG_DONTWAIT() | Linux.MSG_CMSG_CLOEXEC());
            } catch (ErrnoException e) {
                if (e.is(Errno.EAGAIN)) {
                    return new Peeked(-1, false, List.of());
                }
                throw e;
            }
            List<Fd> fds = new ArrayList<>();
            long used = msghdr.msg_controllen(msg);
            for (long at = 0; at + cmsghdr.sizeof() <= used; ) {
                MemorySegment c = control.asSlice(at);
                long len = cmsghdr.cmsg_len(c);
                if (len < cmsghdr.sizeof()) {
                    break;
                }
                if (cmsghdr.cmsg_level(c) == Linux.SOL_SOCKET() && cmsghdr.cmsg_type(c) == Linux.SCM_RIGHTS()) {
                    for (long i = cmsghdr.sizeof(); i + 4 <= len; i += 4) {
                        fds.add(Fd.own(c.get(ValueLayout.JAVA_INT, i)));
                    }
                }
                at += (len + 7) & -8L;
            }
            int flags = msghdr.msg_flags(msg);
            if ((flags & Linux.MSG_CTRUNC()) != 0) {
                fds.forEach(Fd::close);
                throw new IllegalStateException("a queued message carries more than " + maxFds + " fds");
            }
            return new Peeked(n, (flags & Linux.MSG_TRUNC()) != 0, fds);
        }
    }
}
