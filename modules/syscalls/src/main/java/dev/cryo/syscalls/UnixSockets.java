package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import dev.cryo.bindings.Linux;

/**
 * Unix sockets seen from outside: their type, state and peer through sock_diag (NETLINK_SOCK_DIAG,
 * linux/unix_diag.h), socket options, and their queued data read without consuming it (MSG_PEEK with
 * SO_PEEK_OFF, as CRIU does).
 */
public final class UnixSockets {
    /** x86-64 numbers and UAPI constants missing from bindings' header list (asm/unistd_64.h, linux/netlink.h, linux/sock_diag.h, linux/unix_diag.h). */
    private static final int NR_SENDTO = 44;
    private static final int NR_RECVFROM = 45;
    private static final int AF_NETLINK = 16;
    private static final int AF_UNIX = 1;
    private static final int NETLINK_SOCK_DIAG = 4;
    private static final int SOCK_DIAG_BY_FAMILY = 20;
    private static final int NLM_F_REQUEST = 1;
    private static final int NLMSG_ERROR = 2;
    private static final int UDIAG_SHOW_NAME = 0x1;
    private static final int UDIAG_SHOW_PEER = 0x4;
    private static final int UNIX_DIAG_NAME = 0;
    private static final int UNIX_DIAG_PEER = 2;
    private static final int UNIX_DIAG_SHUTDOWN = 6;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    private UnixSockets() {}

    /**
     * One unix socket as sock_diag tells it; {@code name} is empty for an unbound socket (a socketpair's
     * ends); {@code shutdown} is the kernel's sk_shutdown: 1 receive side shut, 2 send side shut.
     */
    public record Info(long ino, int type, int state, long peerIno, String name, int shutdown) {}

    /** Asks sock_diag about the unix socket with inode {@code ino} (in cryo's network namespace). */
    public static Info info(long ino) {
        try (Arena a = Arena.ofConfined();
             Fd nl = Fd.own((int) Syscall.call("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", Linux.__NR_socket(),
                     AF_NETLINK, Linux.SOCK_DGRAM() | Linux.O_CLOEXEC(), NETLINK_SOCK_DIAG))) {
            MemorySegment req = a.allocate(16 + 24);
            req.set(U32, 0, 40);                              // nlmsghdr.nlmsg_len
            req.set(U16, 4, (short) SOCK_DIAG_BY_FAMILY);     // nlmsg_type
            req.set(U16, 6, (short) NLM_F_REQUEST);           // nlmsg_flags
            req.set(U32, 8, 1);                               // nlmsg_seq
            req.set(ValueLayout.JAVA_BYTE, 16, (byte) AF_UNIX); // unix_diag_req.sdiag_family
            req.set(U32, 20, -1);                             // udiag_states: all
            req.set(U32, 24, (int) ino);                      // udiag_ino
            req.set(U32, 28, UDIAG_SHOW_PEER | UDIAG_SHOW_NAME); // udiag_show
            req.set(U32, 32, -1);                             // udiag_cookie: INET_DIAG_NOCOOKIE
            req.set(U32, 36, -1);
            Io.writeFully(nl.fd(), req);
            MemorySegment buf = a.allocate(8192);
            long n = Io.read(nl.fd(), buf);
            if (n < 16 + 16) {
                throw new IllegalStateException("sock_diag answered " + n + " bytes for unix socket " + ino);
            }
            int type = buf.get(U16, 4);
            if (type == NLMSG_ERROR) {
                int errno = -buf.get(U32, 16);
                throw new ErrnoException("sock_diag(unix socket " + ino + ")", new long[] {ino}, errno);
            }
            int len = buf.get(U32, 0);
            int sockType = buf.get(ValueLayout.JAVA_BYTE, 17);
            int state = buf.get(ValueLayout.JAVA_BYTE, 18);
            long gotIno = Integer.toUnsignedLong(buf.get(U32, 20));
            long peer = 0;
            String name = "";
            int shutdown = 0;
            for (int at = 32; at + 4 <= Math.min(len, n); ) {
                int alen = Short.toUnsignedInt(buf.get(U16, at));
                int atype = Short.toUnsignedInt(buf.get(U16, at + 2));
                if (alen < 4) {
                    break;
                }
                if (atype == UNIX_DIAG_PEER && alen >= 8) {
                    peer = Integer.toUnsignedLong(buf.get(U32, at + 4));
                } else if (atype == UNIX_DIAG_SHUTDOWN && alen >= 5) {
                    shutdown = buf.get(ValueLayout.JAVA_BYTE, at + 4);
                } else if (atype == UNIX_DIAG_NAME && alen > 4) {
                    // an abstract name starts with a NUL byte: shown as '@', as ss(8) does
                    byte[] b = buf.asSlice(at + 4, alen - 4).toArray(ValueLayout.JAVA_BYTE);
                    name = b[0] == 0 ? "@" + new String(b, 1, b.length - 1) : new String(b).replace("\0", "");
                }
                at += (alen + 3) & ~3;
            }
            return new Info(gotIno, sockType, state, peer, name, shutdown);
        }
    }

    /**
     * {@link #info(long)} asked in the network namespace of process {@code pid}: sock_diag answers only for
     * the sockets of the namespace its netlink socket lives in, and cryo's thread may be in another one (a
     * dump that sends its pages to a page server from a namespace of its own). The question is then asked
     * from a short-lived thread that joins the process's namespace.
     */
    public static Info info(int pid, long ino) {
        String theirs = Io.readlink("/proc/" + pid + "/ns/net");
        if (theirs.equals(Io.readlink("/proc/thread-self/ns/net"))) {
            return info(ino);
        }
        Info[] answer = new Info[1];
        RuntimeException[] failed = new RuntimeException[1];
        Thread t = new Thread(() -> {
            try {
                NetNamespace.enter("/proc/" + pid + "/ns/net");
                answer[0] = info(ino);
            } catch (RuntimeException e) {
                failed[0] = e;
            }
        }, "sock-diag-" + pid);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while asking sock_diag about unix socket " + ino, e);
        }
        if (failed[0] != null) {
            throw failed[0];
        }
        return answer[0];
    }

    public static int getIntOption(Fd sock, int level, int option) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            Syscall.call("getsockopt(" + option + ")", Linux.__NR_getsockopt(), sock.fd(), level, option, v.address(), len.address());
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    public static void setIntOption(Fd sock, int level, int option, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            Syscall.call("setsockopt(" + option + ")", Linux.__NR_setsockopt(), sock.fd(), level, option, v.address(), 4);
        }
    }

    /** sendmsg with one byte and SCM_RIGHTS carrying {@code fd}: the receiver gets the same open file description. */
    public static void sendFd(Fd sock, int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(1);
            MemorySegment iov = dev.cryo.bindings.iovec.allocate(a);
            dev.cryo.bindings.iovec.iov_base(iov, one);
            dev.cryo.bindings.iovec.iov_len(iov, 1);
            MemorySegment control = a.allocate(CMSG_SPACE_INT, 8);
            control.set(ValueLayout.JAVA_LONG, 0, CMSG_LEN_INT);      // cmsg_len
            control.set(ValueLayout.JAVA_INT, 8, Linux.SOL_SOCKET());  // cmsg_level
            control.set(ValueLayout.JAVA_INT, 12, Linux.SCM_RIGHTS()); // cmsg_type
            control.set(ValueLayout.JAVA_INT, 16, fd);
            MemorySegment msg = dev.cryo.bindings.msghdr.allocate(a);
            dev.cryo.bindings.msghdr.msg_iov(msg, iov);
            dev.cryo.bindings.msghdr.msg_iovlen(msg, 1);
            dev.cryo.bindings.msghdr.msg_control(msg, control);
            dev.cryo.bindings.msghdr.msg_controllen(msg, CMSG_SPACE_INT);
            Syscall.call("sendmsg(SCM_RIGHTS " + fd + ")", Linux.__NR_sendmsg(), sock.fd(), msg.address(), 0);
        }
    }

    /** CMSG_LEN(sizeof(int)) and CMSG_SPACE(sizeof(int)) on x86-64: a 16-byte cmsghdr, then the int, padded to 8. */
    public static final int CMSG_LEN_INT = 20;
    public static final int CMSG_SPACE_INT = 24;

    /** shutdown(2): {@code how} is SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2. */
    public static void shutdown(Fd sock, int how) {
        Syscall.call("shutdown(" + how + ")", Linux.__NR_shutdown(), sock.fd(), how);
    }

    /**
     * send(MSG_DONTWAIT) of all of {@code data} as one datagram or stream write; fails rather than blocks
     * when the peer's queue has no room. Returns the bytes sent.
     */
    public static long sendNow(Fd sock, MemorySegment data) {
        return Syscall.call("send(MSG_DONTWAIT, " + data.byteSize() + " bytes)", NR_SENDTO, sock.fd(), data.address(),
                data.byteSize(), Linux.MSG_DONTWAIT(), 0, 0);
    }

    /** recvfrom(MSG_PEEK | MSG_DONTWAIT): the next queued bytes (a datagram, or stream bytes), or -1 when none wait. */
    public static long peek(Fd sock, MemorySegment buf) {
        try {
            return Syscall.call("recvfrom(MSG_PEEK)", NR_RECVFROM, sock.fd(), buf.address(), buf.byteSize(),
                    Linux.MSG_PEEK() | Linux.MSG_DONTWAIT(), 0, 0);
        } catch (ErrnoException e) {
            if (e.is(Errno.EAGAIN)) {
                return -1;
            }
            throw e;
        }
    }
}
