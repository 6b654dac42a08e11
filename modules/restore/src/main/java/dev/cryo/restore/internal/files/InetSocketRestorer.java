package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.InetSkEntry;
import dev.cryo.images.proto.TcpStreamEntry;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SocketAddress;
import dev.cryo.syscalls.Sockets;
import dev.cryo.syscalls.Tcp;
import dev.cryo.syscalls.TcpStream;

/**
 * A TCP or UDP socket over IPv4 or IPv6, made in the task and set up through cryo's duplicate of it:
 * bound to its address and port (SO_REUSEADDR and SO_REUSEPORT on meanwhile, as CRIU has them, for the
 * sockets that share a port: a listener and the connections it accepted), listening with its backlog, or
 * connected (UDP). An established TCP connection is rebuilt in repair mode from tcp-stream-INO.img
 * ({@link TcpStream}) and stays so until the whole tree is built ({@link NetworkRestore#resume}); with
 * --tcp-close it comes back as a fresh, closed socket instead. Options and shutdown come last.
 */
final class InetSocketRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        InetSkEntry isk = file.getIsk();
        int family = isk.getFamily();
        if (family != Kernel.AF_INET && family != Kernel.AF_INET6) {
            throw new RestoreError("files.img: inet socket " + Integer.toUnsignedLong(isk.getIno()) + " is of family " + family);
        }
        int len = family == Kernel.AF_INET6 ? 16 : 4;
        byte[] src = bytes(isk.getSrcAddrList(), len);
        byte[] dst = bytes(isk.getDstAddrList(), len);
        String local = SocketAddress.inet(family, src, isk.getSrcPort());
        String remote = SocketAddress.inet(family, dst, isk.getDstPort());
        boolean tcp = isk.getProto() == Kernel.IPPROTO_TCP;
        boolean established = tcp && isk.getDstPort() != 0;
        NetworkRestore net = task.files().network();
        if (established && !net.tcpEstablished() && !net.tcpClose()) {
            throw new RestoreError("the images hold the TCP connection " + local + " -> " + remote
                    + ": restore with --tcp-established (or --tcp-close to restore it closed)");
        }
        int fd = (int) task.in().syscall("socket(" + family + ", " + isk.getType() + ", " + isk.getProto() + ")",
                Kernel.__NR_socket, family, isk.getType() | Kernel.SOCK_CLOEXEC, isk.getProto());
        try (Arena a = Arena.ofConfined(); Fd sock = task.pull(fd)) {
            if (isk.getV6Only()) {
                Sockets.setIntOption(sock, Kernel.SOL_IPV6, Kernel.IPV6_V6ONLY, 1);
            }
            Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_REUSEADDR, 1);
            Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_REUSEPORT, 1);
            boolean repaired = false;
            if (established && net.tcpClose()) {
                closed(sock); // the connection is not brought back: a fresh socket, closed
            } else if (established) {
                repaired = repair(task, fd, isk, SocketAddress.inet(a, family, src, isk.getSrcPort()),
                        SocketAddress.inet(a, family, dst, isk.getDstPort()), local, remote);
            } else {
                if (isk.getSrcPort() != 0 || !allZero(src)) {
                    bind(sock, family, isk, SocketAddress.inet(a, family, src, isk.getSrcPort()), local);
                }
                if (tcp && isk.getState() == Kernel.TCP_LISTEN) {
                    Sockets.listen(sock, isk.getBacklog());
                } else if (!tcp && isk.getDstPort() != 0) {
                    Sockets.connect(sock, SocketAddress.inet(a, family, dst, isk.getDstPort()));
                }
            }
            if (isk.hasIpOpts() && isk.getIpOpts().getFreebind()) {
                Sockets.setIntOption(sock, family == Kernel.AF_INET6 ? Kernel.SOL_IPV6 : Kernel.SOL_IP,
                        family == Kernel.AF_INET6 ? Kernel.IPV6_FREEBIND : Kernel.IP_FREEBIND, 1);
            }
            SocketOptions.apply(sock, isk.getOpts());
            if (tcp) {
                keepalive(sock, isk);
            }
            if (!repaired) {
                // a repaired socket gets these back when it leaves repair mode
                Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_REUSEADDR, isk.getOpts().getReuseaddr() ? 1 : 0);
                Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_REUSEPORT, isk.getOpts().getSoReuseport() ? 1 : 0);
                shutdown(sock, isk, established);
            }
            return fd;
        } catch (ErrnoException e) {
            task.in().closeFd(fd);
            throw new RestoreError((tcp ? "TCP" : "UDP") + " socket " + local
                    + (isk.getDstPort() != 0 ? " -> " + remote : "") + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            task.in().closeFd(fd);
            throw e;
        }
    }

    /**
     * The connection, rebuilt in repair mode from its tcp-stream image; a second duplicate of it waits with
     * the restore's other connections for the release.
     */
    private static boolean repair(TaskFiles task, int fd, InetSkEntry isk, MemorySegment local, MemorySegment remote,
                                  String localText, String remoteText) {
        long ino = Integer.toUnsignedLong(isk.getIno());
        String image = ImageKind.TCP_STREAM.fileName(ino);
        if (!task.files().store().exists(image)) {
            throw new RestoreError("the TCP connection " + localText + " -> " + remoteText + " has no " + image);
        }
        Fd sock = task.pull(fd);
        try (EntryReader r = task.files().store().openReader(ImageKind.TCP_STREAM, ino)) {
            TcpStreamEntry t = r.next(TcpStreamEntry.parser());
            if (t == null) {
                throw new RestoreError(image + " holds no entry");
            }
            TcpStream.State state = state(task, isk, t, r);
            Tcp.repair(sock, true);
            TcpStream.rebuild(sock, state, local, remote);
            if (t.getNodelay()) {
                Sockets.setIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_NODELAY, 1);
            }
            if (t.getCork()) {
                Sockets.setIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_CORK, 1);
            }
            task.files().network().repaired(sock, state, isk.getOpts().getReuseaddr(), isk.getOpts().getSoReuseport());
            return true;
        } catch (ErrnoException e) {
            sock.close();
            if (e.is(Errno.EADDRNOTAVAIL) || e.is(Errno.EADDRINUSE)) {
                throw new RestoreError("cannot restore the TCP connection " + localText + " -> " + remoteText
                        + ": a socket of this network namespace has it already (" + e.reason() + ")", e);
            }
            throw e;
        } catch (RuntimeException e) {
            sock.close();
            throw e;
        }
    }

    private static TcpStream.State state(TaskFiles task, InetSkEntry isk, TcpStreamEntry t, EntryReader r) {
        MemorySegment inq = task.files().network().bytes(t.getInqLen());
        r.readPayload(inq);
        MemorySegment outq = task.files().network().bytes(t.getOutqLen());
        r.readPayload(outq);
        if (!t.hasUnsqLen() || t.getUnsqLen() > t.getOutqLen()) {
            throw new RestoreError(ImageKind.TCP_STREAM.fileName(Integer.toUnsignedLong(isk.getIno()))
                    + ": unsq_len " + (t.hasUnsqLen() ? t.getUnsqLen() + " is over outq_len " + t.getOutqLen() : "is missing"));
        }
        Tcp.Window w = t.hasSndWnd() ? new Tcp.Window(t.getSndWl1(), t.getSndWnd(), t.getMaxWindow(), t.getRcvWnd(), t.getRcvWup()) : null;
        return new TcpStream.State(isk.getState(), t.getInqSeq(), inq, t.getOutqSeq(), outq, t.getUnsqLen(), t.getMssClamp(),
                t.getOptMask(), t.getSndWscale(), t.getRcvWscale(), t.getTimestamp(), w);
    }

    private static void bind(Fd sock, int family, InetSkEntry isk, MemorySegment addr, String local) {
        // an IPv6 address may still be tentative: IP_FREEBIND lets the bind through, as CRIU does
        boolean freebind = family == Kernel.AF_INET6 && !(isk.hasIpOpts() && isk.getIpOpts().getFreebind());
        if (freebind) {
            Sockets.setIntOption(sock, Kernel.SOL_IP, Kernel.IP_FREEBIND, 1);
        }
        try {
            Sockets.bind(sock, addr);
        } catch (ErrnoException e) {
            if (e.is(Errno.EADDRINUSE)) {
                throw new RestoreError("cannot bind to " + local + ": another socket of this network namespace has it", e);
            }
            throw e;
        }
        if (freebind) {
            Sockets.setIntOption(sock, Kernel.SOL_IP, Kernel.IP_FREEBIND, 0);
        }
    }

    private static void closed(Fd sock) {
        try {
            Sockets.shutdown(sock, Kernel.SHUT_RDWR);
        } catch (ErrnoException e) {
            if (!e.is(Errno.ENOTCONN)) {
                throw e;
            }
        }
    }

    /** The keepalive timings, which CRIU keeps in sk_opts' deprecated fields (0: never read). */
    private static void keepalive(Fd sock, InetSkEntry isk) {
        if (isk.getOpts().getTcpKeepcnt() != 0) {
            Sockets.setIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_KEEPCNT, isk.getOpts().getTcpKeepcnt());
        }
        if (isk.getOpts().getTcpKeepidle() != 0) {
            Sockets.setIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_KEEPIDLE, isk.getOpts().getTcpKeepidle());
        }
        if (isk.getOpts().getTcpKeepintvl() != 0) {
            Sockets.setIntOption(sock, Kernel.SOL_TCP, Kernel.TCP_KEEPINTVL, isk.getOpts().getTcpKeepintvl());
        }
    }

    private static void shutdown(Fd sock, InetSkEntry isk, boolean established) {
        if (!isk.hasShutdown() || isk.getShutdown() == dev.cryo.images.proto.SkShutdown.NONE) {
            return;
        }
        int how = switch (isk.getShutdown()) {
            case READ -> Kernel.SHUT_RD;
            case WRITE -> Kernel.SHUT_WR;
            default -> Kernel.SHUT_RDWR;
        };
        try {
            Sockets.shutdown(sock, how);
        } catch (ErrnoException e) {
            if (!e.is(Errno.ENOTCONN)) {
                throw e;
            }
        }
    }

    /** The address bytes from inet_sk_entry's words (4 bytes to a uint32, host order: CRIU's memcpy). */
    static byte[] bytes(List<Integer> words, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < Math.min(words.size(), len / 4); i++) {
            int w = words.get(i);
            b[4 * i] = (byte) w;
            b[4 * i + 1] = (byte) (w >>> 8);
            b[4 * i + 2] = (byte) (w >>> 16);
            b[4 * i + 3] = (byte) (w >>> 24);
        }
        return b;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
