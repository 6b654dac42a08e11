package dev.cryo.dump.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.google.protobuf.ByteString;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FilePermsEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.ScmEntry;
import dev.cryo.images.proto.SkShutdown;
import dev.cryo.images.proto.UnixSkEntry;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.SockDiag;
import dev.cryo.syscalls.SocketAddress;
import dev.cryo.syscalls.Sockets;

/**
 * A unix socket of any type (stream, datagram, seqpacket) in any state cryo can bring back: unbound, bound
 * to a path or an abstract name, listening, connected (to a socket of the tree, to a named one outside it, or
 * to one that has closed). From sock_diag: type, state, name, peer; a listener's backlog; for a path, the
 * bound file's owner and mode, and whether it was unlinked (SIOCUNIXFILE). The data waiting in its receive
 * queue is peeked message by message (SO_PEEK_OFF, as CRIU does) into sk-queues.img, with the fds that ride
 * on each message dumped as files of their own (ids in the packet's scm entry).
 */
record UnixSocketDumper(Arena arena, SocketTable sockets) implements FileDumper {
    private static final String DELETED = " (deleted)";
    /** The most fds one message can carry (the kernel's SCM_MAX_FD). */
    private static final int SCM_MAX_FD = 253;

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        long ino = fd.linkInode();
        SockDiag.Unix d = sockets.unix(ino);
        String what = fd.where() + ": unix socket " + ino;
        if (d == null) {
            throw new DumpException("cannot dump " + what + ": sock_diag does not know it (is it in another network namespace?)");
        }
        what += d.bound() ? " (" + d.displayName() + ")" : "";
        if (d.type() != Kernel.SOCK_STREAM && d.type() != Kernel.SOCK_DGRAM && d.type() != Kernel.SOCK_SEQPACKET) {
            throw new DumpException("cannot dump " + what + ": it is of type " + d.type() + ", not stream, datagram or seqpacket");
        }
        boolean listening = d.state() == Kernel.TCP_LISTEN;
        if (!listening && d.state() != Kernel.TCP_ESTABLISHED && d.state() != Kernel.TCP_CLOSE) {
            throw new DumpException("cannot dump " + what + ": it is in state " + d.state() + ", which cryo cannot restore");
        }
        try (Fd sock = Pidfd.getFd(fd.pidfd(), fd.fd())) {
            UnixSkEntry.Builder u = UnixSkEntry.newBuilder().setId(e.getId()).setIno((int) ino).setType(d.type())
                    .setState(d.state()).setFlags(fd.flags()).setUflags(0).setBacklog(listening ? d.wqlen() : 0)
                    .setPeer((int) d.peer()).setFown(FileTable.NO_OWNER).setOpts(SocketOptions.read(sock, Kernel.AF_UNIX))
                    .setName(ByteString.copyFrom(d.name())).setShutdown(SkShutdown.forNumber(d.shutdown() & 3));
            if (d.bound() && !d.abstractName()) {
                boundFile(sock, d, u, what);
            }
            peer(d, u, what);
            if (!listening) {
                queue(sock, d, e.getId(), files, what);
            }
            e.setType(FdTypes.UNIXSK).setUsk(u);
            sockets.dumpedUnix(ino, fd.where(), u.build());
        } catch (ErrnoException x) {
            throw new DumpException("cannot dump " + what + ": " + x.getMessage(), x);
        }
    }

    /**
     * The file a path name is bound to: owner and mode (restore gives them back), unlinked or not (restore
     * binds, then unlinks again), and for a relative name the directory it was bound in.
     */
    private static void boundFile(Fd sock, SockDiag.Unix d, UnixSkEntry.Builder u, String what) throws DumpException {
        try (Fd file = Sockets.unixFile(sock)) {
            Path proc = Path.of("/proc/self/fd/" + file.fd());
            String path = Io.readlink(proc.toString());
            boolean deleted = path.endsWith(DELETED) && !Files.exists(Path.of(path));
            if (deleted) {
                path = path.substring(0, path.length() - DELETED.length());
                u.setDeleted(true);
            }
            Map<String, Object> a = Files.readAttributes(proc, "unix:mode,uid,gid");
            u.setFilePerms(FilePermsEntry.newBuilder().setMode((int) a.get("mode")).setUid((int) a.get("uid")).setGid((int) a.get("gid")));
            String name = d.displayName();
            if (!name.startsWith("/")) {
                if (!path.endsWith("/" + name)) {
                    throw new DumpException("cannot dump " + what + ": its relative name is not the end of " + path);
                }
                u.setNameDir(path.substring(0, path.length() - name.length() - 1));
            }
        } catch (ErrnoException x) {
            if (!x.is(Errno.ENOENT)) {
                throw x;
            }
            // bound, but the kernel holds no path for it (a name taken over from a listener it was accepted on)
        } catch (IOException x) {
            throw new DumpException("cannot dump " + what + ": cannot stat the file it is bound to: " + x.getMessage(), x);
        }
    }

    /**
     * A connected stream or seqpacket socket whose peer the kernel does not name: its connection waits on a
     * listener to be accepted (restore connects it to that listener again; the listener's inode is its peer in
     * the image, as CRIU writes it), or its peer has closed (both sides shut: nothing more comes).
     */
    private void peer(SockDiag.Unix d, UnixSkEntry.Builder u, String what) throws DumpException {
        if (d.peer() != 0) {
            SockDiag.Unix p = sockets.unix(d.peer());
            if (p != null && p.peer() != d.ino() && !p.bound()) {
                throw new DumpException("cannot dump " + what + ": its peer, socket " + d.peer()
                        + ", is connected elsewhere and has no name to connect to");
            }
            return;
        }
        if (d.state() != Kernel.TCP_ESTABLISHED || d.type() == Kernel.SOCK_DGRAM) {
            return;
        }
        SockDiag.Unix listener = sockets.listenerWaitedOnBy(d.ino());
        if (listener != null) {
            if (d.wqlen() != 0) {
                throw new DumpException("cannot dump " + what + ": it wrote " + d.wqlen() + " bytes into its connection to "
                        + listener.displayName() + ", which is not accepted yet; they cannot be read back");
            }
            u.setPeer((int) listener.ino());
        } else if (d.shutdown() != 3) {
            throw new DumpException("cannot dump " + what + ": it is connected, but to no socket the kernel names");
        }
    }

    /**
     * The packets in the receive queue, peeked one by one from offset 0 (SO_PEEK_OFF), the socket's own peek
     * offset put back afterwards. The fds a packet carries land in cryo and are dumped like any fd.
     */
    private void queue(Fd sock, SockDiag.Unix d, int id, FileTable files, String what) throws DumpException {
        int before = Sockets.getIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_PEEK_OFF);
        long size = Math.max(Math.max(d.rqlen() + 1L, 64 * 1024),
                Math.max(Sockets.getIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_RCVBUF),
                        Sockets.getIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_SNDBUF)));
        Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_PEEK_OFF, 0);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment buf = scratch.allocate(size);
            while (true) {
                Sockets.Peeked p = Sockets.peekMessage(sock, buf, SCM_MAX_FD);
                if (p.length() < 0) {
                    break;
                }
                if (p.length() == 0) {
                    p.fds().forEach(Fd::close);
                    if (d.type() == Kernel.SOCK_STREAM) {
                        break; // the peer shut down
                    }
                    // a zero-length message does not move the peek offset: nothing after it can be read
                    throw new DumpException("cannot dump " + what + ": a zero-length message waits in its queue");
                }
                if (p.truncated()) {
                    p.fds().forEach(Fd::close);
                    throw new DumpException("cannot dump " + what + ": a queued datagram is longer than " + size + " bytes");
                }
                List<Integer> rights = new ArrayList<>();
                for (Fd f : p.fds()) {
                    rights.add(FdCollector.fileId(sockets.inFlight(f), files, sockets, arena));
                }
                MemorySegment packet = arena.allocate(Math.max(p.length(), 1)).asSlice(0, p.length());
                packet.copyFrom(buf.asSlice(0, p.length()));
                List<ScmEntry> scm = rights.isEmpty() ? List.of()
                        : List.of(ScmEntry.newBuilder().setType(Kernel.SCM_RIGHTS).addAllRights(rights).build());
                files.addSocketPacket(new FileTable.Packet(id, packet, scm));
            }
        } finally {
            Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_PEEK_OFF, before);
        }
    }
}
