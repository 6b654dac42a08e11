package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.inet_diag_msg;
import dev.cryo.bindings.inet_diag_req_v2;
import dev.cryo.bindings.inet_diag_sockid;
import dev.cryo.bindings.unix_diag_msg;
import dev.cryo.bindings.unix_diag_req;
import dev.cryo.bindings.unix_diag_rqlen;
import dev.cryo.bindings.unix_diag_vfs;

/**
 * The sockets of cryo's network namespace as sock_diag (NETLINK_SOCK_DIAG) reports them, as CRIU collects
 * them: every unix socket with its name, the inode its path is bound to, its peer, the connections waiting
 * on a listener and its queue lengths; every TCP or UDP socket of a family with its addresses, state and
 * queues. One dump request each, answered in a few messages.
 */
public final class SockDiag {
    private SockDiag() {}

    /**
     * A unix socket. {@code name} is the raw sun_path it is bound to (empty: unbound; a first NUL byte: an
     * abstract name); {@code vfsDev}/{@code vfsIno} the inode a path name was bound to; {@code peer} the inode
     * of the socket it is connected to (0: none, or one that is closed); {@code icons} the inodes of the
     * sockets whose connections wait on a listener to be accepted; {@code shutdown} the kernel's sk_shutdown
     * (1: receive side shut, 2: send side shut). For a listener {@code rqlen} counts waiting connections and
     * {@code wqlen} is its backlog; otherwise they are the bytes queued.
     */
    public record Unix(long ino, int type, int state, long peer, byte[] name, long vfsDev, long vfsIno,
                       long[] icons, int rqlen, int wqlen, int shutdown) {
        public boolean bound() {
            return name.length > 0;
        }

        public boolean abstractName() {
            return name.length > 0 && name[0] == 0;
        }

        /** The name as ss(8) shows it: a path, or {@code @name} for an abstract one; "" unbound. */
        public String displayName() {
            return SocketAddress.displayUnix(name);
        }
    }

    /** Every unix socket of cryo's network namespace, by inode. */
    public static Map<Long, Unix> unixSockets() {
        Map<Long, Unix> out = new HashMap<>();
        try (Netlink nl = Netlink.open(Linux.NETLINK_SOCK_DIAG()); Arena a = Arena.ofConfined()) {
            MemorySegment req = unix_diag_req.allocate(a);
            unix_diag_req.sdiag_family(req, (byte) Linux.AF_UNIX());
            unix_diag_req.udiag_states(req, -1);
            unix_diag_req.udiag_show(req, Linux.UDIAG_SHOW_NAME() | Linux.UDIAG_SHOW_VFS() | Linux.UDIAG_SHOW_PEER()
                    | Linux.UDIAG_SHOW_ICONS() | Linux.UDIAG_SHOW_RQLEN());
            unix_diag_req.udiag_cookie(req, 0, Linux.INET_DIAG_NOCOOKIE());
            unix_diag_req.udiag_cookie(req, 1, Linux.INET_DIAG_NOCOOKIE());
            nl.send(new Netlink.Request().begin(Linux.SOCK_DIAG_BY_FAMILY(), Linux.NLM_F_REQUEST() | Linux.NLM_F_DUMP(), nl.nextSeq())
                    .bytes(req.toArray(ValueLayout.JAVA_BYTE)).end());
            nl.receive("sock_diag(AF_UNIX)", 0, m -> {
                Unix u = unix(m.payload());
                out.put(u.ino(), u);
            });
        }
        return out;
    }

    private static Unix unix(MemorySegment msg) {
        long ino = Integer.toUnsignedLong(unix_diag_msg.udiag_ino(msg));
        int type = unix_diag_msg.udiag_type(msg);
        int state = unix_diag_msg.udiag_state(msg);
        long[] peer = {0};
        byte[][] name = {new byte[0]};
        long[] vfs = {0, 0};
        long[][] icons = {new long[0]};
        int[] queues = {0, 0};
        int[] shutdown = {0};
        Netlink.attributes(msg.asSlice(unix_diag_msg.sizeof()), (t, v) -> {
            if (t == Linux.UNIX_DIAG_NAME()) {
                name[0] = v.toArray(ValueLayout.JAVA_BYTE);
            } else if (t == Linux.UNIX_DIAG_VFS()) {
                vfs[0] = Integer.toUnsignedLong(unix_diag_vfs.udiag_vfs_dev(v));
                vfs[1] = Integer.toUnsignedLong(unix_diag_vfs.udiag_vfs_ino(v));
            } else if (t == Linux.UNIX_DIAG_PEER()) {
                peer[0] = Integer.toUnsignedLong(v.get(ValueLayout.JAVA_INT_UNALIGNED, 0));
            } else if (t == Linux.UNIX_DIAG_ICONS()) {
                long[] ic = new long[(int) (v.byteSize() / 4)];
                for (int i = 0; i < ic.length; i++) {
                    ic[i] = Integer.toUnsignedLong(v.get(ValueLayout.JAVA_INT_UNALIGNED, 4L * i));
                }
                icons[0] = ic;
            } else if (t == Linux.UNIX_DIAG_RQLEN()) {
                queues[0] = unix_diag_rqlen.udiag_rqueue(v);
                queues[1] = unix_diag_rqlen.udiag_wqueue(v);
            } else if (t == Linux.UNIX_DIAG_SHUTDOWN()) {
                shutdown[0] = v.get(ValueLayout.JAVA_BYTE, 0);
            }
        });
        return new Unix(ino, type, state, peer[0], name[0], vfs[0], vfs[1], icons[0], queues[0], queues[1], shutdown[0]);
    }

    /**
     * A TCP or UDP socket: addresses as the kernel holds them (4 bytes for IPv4, 16 for IPv6, network order),
     * ports, the TCP state (UDP: TCP_ESTABLISHED when connected, TCP_CLOSE otherwise), the queues (for a
     * listener: connections waiting to be accepted, and the backlog) and the shutdown bits.
     */
    public record Inet(long ino, int family, int protocol, int state, byte[] src, int srcPort, byte[] dst, int dstPort,
                       int rqueue, int wqueue, int shutdown) {
        public String describe() {
            return SocketAddress.inet(family, src, srcPort) + " -> " + SocketAddress.inet(family, dst, dstPort);
        }
    }

    /** Every socket of {@code family} (AF_INET, AF_INET6) and {@code protocol} (IPPROTO_TCP, IPPROTO_UDP), by inode. */
    public static Map<Long, Inet> inetSockets(int family, int protocol) {
        Map<Long, Inet> out = new HashMap<>();
        try (Netlink nl = Netlink.open(Linux.NETLINK_SOCK_DIAG()); Arena a = Arena.ofConfined()) {
            MemorySegment req = inet_diag_req_v2.allocate(a);
            inet_diag_req_v2.sdiag_family(req, (byte) family);
            inet_diag_req_v2.sdiag_protocol(req, (byte) protocol);
            inet_diag_req_v2.idiag_states(req, -1);
            MemorySegment id = inet_diag_req_v2.id(req);
            inet_diag_sockid.idiag_cookie(id, 0, Linux.INET_DIAG_NOCOOKIE());
            inet_diag_sockid.idiag_cookie(id, 1, Linux.INET_DIAG_NOCOOKIE());
            nl.send(new Netlink.Request().begin(Linux.SOCK_DIAG_BY_FAMILY(), Linux.NLM_F_REQUEST() | Linux.NLM_F_DUMP(), nl.nextSeq())
                    .bytes(req.toArray(ValueLayout.JAVA_BYTE)).end());
            nl.receive("sock_diag(" + (family == Linux.AF_INET6() ? "AF_INET6" : "AF_INET") + ", " + protocol + ")", 0, m -> {
                Inet s = inet(m.payload(), protocol);
                if (s.ino() != 0) { // a TIME_WAIT or request socket has no inode, and no fd
                    out.put(s.ino(), s);
                }
            });
        }
        return out;
    }

    private static Inet inet(MemorySegment msg, int protocol) {
        int family = inet_diag_msg.idiag_family(msg);
        MemorySegment id = inet_diag_msg.id(msg);
        int len = family == Linux.AF_INET6() ? 16 : 4;
        byte[] src = inet_diag_sockid.idiag_src(id).asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
        byte[] dst = inet_diag_sockid.idiag_dst(id).asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
        int[] shutdown = {0};
        Netlink.attributes(msg.asSlice(inet_diag_msg.sizeof()), (t, v) -> {
            if (t == Linux.INET_DIAG_SHUTDOWN()) {
                shutdown[0] = v.get(ValueLayout.JAVA_BYTE, 0);
            }
        });
        return new Inet(Integer.toUnsignedLong(inet_diag_msg.idiag_inode(msg)), family, protocol,
                Byte.toUnsignedInt(inet_diag_msg.idiag_state(msg)), src, ntohs(inet_diag_sockid.idiag_sport(id)), dst,
                ntohs(inet_diag_sockid.idiag_dport(id)), inet_diag_msg.idiag_rqueue(msg), inet_diag_msg.idiag_wqueue(msg),
                shutdown[0]);
    }

    private static int ntohs(short be) {
        return Short.toUnsignedInt(Short.reverseBytes(be));
    }

    /** The sockets of both families for {@code protocol}, by inode. */
    public static Map<Long, Inet> inetSockets(int protocol) {
        Map<Long, Inet> all = new HashMap<>(inetSockets(Linux.AF_INET(), protocol));
        all.putAll(inetSockets(Linux.AF_INET6(), protocol));
        return all;
    }
}
