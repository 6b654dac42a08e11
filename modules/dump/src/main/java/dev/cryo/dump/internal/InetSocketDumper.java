package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.util.Arrays;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.InetSkEntry;
import dev.cryo.images.proto.IpOptsEntry;
import dev.cryo.images.proto.SkOptsEntry;
import dev.cryo.images.proto.SkShutdown;
import dev.cryo.images.proto.TcpStreamEntry;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.NetworkLock;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.SockDiag;
import dev.cryo.syscalls.SocketAddress;
import dev.cryo.syscalls.Sockets;
import dev.cryo.syscalls.Tcp;
import dev.cryo.syscalls.TcpStream;

/**
 * A TCP or UDP socket over IPv4 or IPv6: family, protocol, state, addresses and ports (sock_diag, or
 * getsockname/getpeername for one the kernel has not hashed yet), the listener's backlog, the socket
 * options. An established TCP connection needs --tcp-established, as in CRIU: it is locked (nf_tables,
 * {@link NetworkLock}) and put into repair mode, and its sequence numbers, queues, window and options go
 * into tcp-stream-INO.img; with --tcp-close it is dumped as a socket to restore closed. A listener with
 * connections waiting to be accepted, a half-closed connection, a corked UDP socket and raw sockets are
 * refused. Datagrams waiting in a UDP socket are dropped, as CRIU drops them (their senders cannot be
 * replayed).
 */
record InetSocketDumper(Arena arena, SocketTable sockets) implements FileDumper {
    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        long ino = fd.linkInode();
        try (Fd sock = Pidfd.getFd(fd.pidfd(), fd.fd())) {
            int family = Sockets.getIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_DOMAIN);
            int type = Sockets.getIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_TYPE);
            int proto = Sockets.getIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_PROTOCOL);
            String v = family == Kernel.AF_INET6 ? "IPv6" : "IPv4";
            String what = fd.where() + ": " + v + " socket " + ino;
            boolean tcp = type == Kernel.SOCK_STREAM && proto == Kernel.IPPROTO_TCP;
            boolean udp = type == Kernel.SOCK_DGRAM && (proto == Kernel.IPPROTO_UDP || proto == Kernel.IPPROTO_UDPLITE);
            if (!tcp && !udp) {
                throw new DumpException("cannot dump " + what + ": it is " + (type == Kernel.SOCK_RAW ? "a raw socket"
                        : "of type " + type + " and protocol " + proto) + ", which cryo cannot dump yet");
            }
            what = fd.where() + ": " + (tcp ? "TCP" : "UDP") + "/" + v + " socket " + ino;
            Endpoints ends = endpoints(sock, family, tcp ? Kernel.IPPROTO_TCP : proto, ino);
            what += " (" + ends.describe(family) + ")";
            InetSkEntry.Builder isk = InetSkEntry.newBuilder().setId(e.getId()).setIno((int) ino).setFamily(family)
                    .setType(type).setProto(proto).setState(ends.state).setSrcPort(ends.srcPort).setDstPort(ends.dstPort)
                    .setFlags(fd.flags()).setBacklog(ends.state == Kernel.TCP_LISTEN ? ends.backlog : 0)
                    .addAllSrcAddr(words(ends.src)).addAllDstAddr(words(ends.dst)).setFown(FileTable.NO_OWNER)
                    .setShutdown(SkShutdown.forNumber(ends.shutdown & 3));
            SkOptsEntry.Builder opts = SocketOptions.read(sock, family).toBuilder();
            if (family == Kernel.AF_INET6) {
                isk.setV6Only(Sockets.getIntOption(sock, Kernel.SOL_IPV6, Kernel.IPV6_V6ONLY) != 0);
                isk.setIpOpts(IpOptsEntry.newBuilder().setFreebind(Sockets.getIntOption(sock, Kernel.SOL_IPV6, Kernel.IPV6_FREEBIND) != 0));
            } else {
                isk.setIpOpts(IpOptsEntry.newBuilder().setFreebind(Sockets.getIntOption(sock, Kernel.SOL_IP, Kernel.IP_FREEBIND) != 0));
            }
            if (tcp) {
                // the deprecated sk_opts fields, which every CRIU reads
                opts.setTcpKeepcnt(Sockets.getIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_KEEPCNT))
                        .setTcpKeepidle(Sockets.getIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_KEEPIDLE))
                        .setTcpKeepintvl(Sockets.getIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_KEEPINTVL));
                tcp(fd, sock, ends, family, what, files, e.getId(), opts.getReuseaddr());
            } else {
                udp(sock, ends, what);
            }
            e.setType(FdTypes.INETSK).setIsk(isk.setOpts(opts));
        } catch (ErrnoException x) {
            throw new DumpException("cannot dump " + fd.where() + " (" + fd.link() + "): " + x.getMessage(), x);
        }
    }

    private void tcp(OpenFd fd, Fd sock, Endpoints ends, int family, String what, FileTable files, int id, boolean reuseaddr)
            throws DumpException {
        int state = ends.state;
        if (state == Kernel.TCP_LISTEN) {
            if (ends.queued > 0) {
                throw new DumpException("cannot dump " + what + ": " + ends.queued + " connections wait to be accepted on it");
            }
            return;
        }
        if (state == Kernel.TCP_CLOSE) {
            return;
        }
        if (!sockets.tcpEstablished() && !sockets.tcpClose()) {
            throw new DumpException("cannot dump " + what + ": it is a connected TCP socket; consider using --tcp-established");
        }
        if (sockets.tcpClose()) {
            return; // restored closed: nothing of the connection is kept
        }
        if (state != Kernel.TCP_ESTABLISHED) {
            throw new DumpException("cannot dump " + what + ": its connection is in TCP state " + TcpStates.name(state)
                    + " (half closed or opening), which cryo cannot restore yet; only established ones");
        }
        Fd repairing = Pidfd.getFd(fd.pidfd(), fd.fd()); // the socket table owns it from here
        sockets.repair(repairing, reuseaddr, new NetworkLock.Connection(ends.src, ends.srcPort, ends.dst, ends.dstPort));
        TcpStream.State s = TcpStream.save(repairing, arena);
        if (s.tcpState() != Kernel.TCP_ESTABLISHED) {
            throw new DumpException("cannot dump " + what + ": its connection went to TCP state " + TcpStates.name(s.tcpState())
                    + " as it was locked; only established ones can be restored");
        }
        TcpStreamEntry.Builder t = TcpStreamEntry.newBuilder().setInqLen((int) s.inq().byteSize()).setInqSeq(s.inqSeq())
                .setOutqLen((int) s.outq().byteSize()).setOutqSeq(s.outqSeq()).setUnsqLen(s.unsent())
                .setOptMask(s.options()).setSndWscale(s.sndWscale()).setMssClamp(s.mssClamp())
                .setCork(Sockets.getIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_CORK) != 0)
                .setNodelay(Sockets.getIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_NODELAY) != 0);
        if ((s.options() & Kernel.TCPI_OPT_WSCALE) != 0) {
            t.setRcvWscale(s.rcvWscale());
        }
        if ((s.options() & Kernel.TCPI_OPT_TIMESTAMPS) != 0) {
            t.setTimestamp(s.timestamp());
        }
        if (s.window() != null) {
            t.setSndWl1(s.window().sndWl1()).setSndWnd(s.window().sndWnd()).setMaxWindow(s.window().maxWindow())
                    .setRcvWnd(s.window().rcvWnd()).setRcvWup(s.window().rcvWup());
        }
        files.addTcpStream(new FileTable.TcpStreamImage(fd.linkInode(), t.build(), s.inq(), s.outq()));
        sockets.log().log(what + ": established, " + s.inq().byteSize() + " bytes to read, " + s.outq().byteSize()
                + " unacknowledged (" + s.unsent() + " not sent); locked and in repair mode");
    }

    private void udp(Fd sock, Endpoints ends, String what) throws DumpException {
        if (Sockets.getIntOption(sock, Kernel.SOL_UDP, Kernel.UDP_CORK) != 0) {
            throw new DumpException("cannot dump " + what + ": it is corked (UDP_CORK), holding a datagram half written");
        }
        if (ends.queued > 0) {
            sockets.log().log(what + ": the " + ends.queued + " bytes of datagrams waiting in it are dropped, as CRIU drops them");
        }
    }

    /** Where a socket is: state, local and remote address and port, queues (or backlog), shutdown. */
    private record Endpoints(int state, byte[] src, int srcPort, byte[] dst, int dstPort, int queued, int backlog, int shutdown) {
        String describe(int family) {
            String local = SocketAddress.inet(family, src, srcPort);
            return dstPort == 0 ? local : local + " -> " + SocketAddress.inet(family, dst, dstPort);
        }
    }

    private Endpoints endpoints(Fd sock, int family, int proto, long ino) {
        SockDiag.Inet d = sockets.inet(family, proto, ino);
        if (d != null) {
            return new Endpoints(d.state(), d.src(), d.srcPort(), d.dst(), d.dstPort(), d.rqueue(), d.wqueue(), d.shutdown());
        }
        // Not hashed: neither bound to a port nor connected (a bare socket, as CRIU's gen_uncon_sk finds it).
        int len = family == Kernel.AF_INET6 ? 16 : 4;
        byte[] local = Sockets.localAddress(sock);
        byte[] src = address(local, family, len);
        int state = proto == Kernel.IPPROTO_TCP ? Tcp.info(sock).state() : Kernel.TCP_CLOSE;
        byte[] dst = new byte[len];
        int dport = 0;
        try {
            byte[] peer = Sockets.peerAddress(sock);
            dst = address(peer, family, len);
            dport = port(peer);
        } catch (ErrnoException x) {
            if (!x.is(Errno.ENOTCONN)) {
                throw x;
            }
        }
        return new Endpoints(state, src, port(local), dst, dport, 0, 0, 0);
    }

    /** The address in a sockaddr_in or sockaddr_in6. */
    private static byte[] address(byte[] sockaddr, int family, int len) {
        int at = SocketAddress.inetAddressOffset(family);
        return Arrays.copyOfRange(sockaddr, at, at + len);
    }

    /** The port of a sockaddr_in or sockaddr_in6 (the same place in both), in host order. */
    private static int port(byte[] sockaddr) {
        int at = SocketAddress.INET_PORT_OFFSET;
        return ((sockaddr[at] & 0xff) << 8) | (sockaddr[at + 1] & 0xff);
    }

    /** inet_sk_entry's address words: the address bytes as the kernel holds them, 4 to a uint32 in host order (CRIU's memcpy). */
    static Iterable<Integer> words(byte[] addr) {
        Integer[] w = new Integer[addr.length / 4];
        for (int i = 0; i < w.length; i++) {
            w[i] = (addr[4 * i] & 0xff) | (addr[4 * i + 1] & 0xff) << 8 | (addr[4 * i + 2] & 0xff) << 16 | (addr[4 * i + 3] & 0xff) << 24;
        }
        return Arrays.asList(w);
    }
}
