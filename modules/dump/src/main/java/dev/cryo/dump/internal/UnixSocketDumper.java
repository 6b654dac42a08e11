package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.SkOptsEntry;
import dev.cryo.images.proto.SkShutdown;
import dev.cryo.images.proto.UnixSkEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.SockDiag;
import dev.cryo.syscalls.Sockets;

/**
 * One end of a unix socketpair: type, state and peer from sock_diag; the data waiting in its receive
 * queue peeked through a duplicate (pidfd_getfd) with SO_PEEK_OFF, packet by packet, into sk-queues.img.
 * The socket's peek offset is switched off again, as it was.
 */
record UnixSocketDumper(Arena arena) implements FileDumper {
    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        long ino = fd.linkInode();
        try (Fd sock = Pidfd.getFd(fd.pidfd(), fd.fd())) {
            java.util.Map<Long, SockDiag.Unix> all = SockDiag.unixSockets();
            SockDiag.Unix info = all.get(ino);
            if (info.peer() == 0) {
                throw new DumpException("cannot dump " + fd.where() + ": unix socket " + ino
                        + (info.bound() ? " (" + info.displayName() + ")" : "") + " has no peer; cryo dumps socketpairs only");
            }
            String peerName = all.get(info.peer()).displayName();
            if (info.bound() || !peerName.isEmpty()) {
                throw new DumpException("cannot dump " + fd.where() + ": unix socket " + ino + " is connected through "
                        + (info.bound() ? info.displayName() : peerName) + "; cryo dumps socketpairs only");
            }
            SkOptsEntry opts = SkOptsEntry.newBuilder()
                    .setSoSndbuf(Sockets.getIntOption(sock, Linux.SOL_SOCKET(), Linux.SO_SNDBUF()))
                    .setSoRcvbuf(Sockets.getIntOption(sock, Linux.SOL_SOCKET(), Linux.SO_RCVBUF()))
                    .setSoSndTmoSec(0).setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0).build();
            e.setType(FdTypes.UNIXSK).setUsk(UnixSkEntry.newBuilder().setId(e.getId()).setIno((int) ino)
                    .setType(info.type()).setState(info.state()).setFlags(fd.flags()).setUflags(0).setBacklog(0)
                    .setPeer((int) info.peer()).setFown(FileTable.NO_OWNER).setOpts(opts)
                    .setName(com.google.protobuf.ByteString.EMPTY)
                    .setShutdown(SkShutdown.forNumber(info.shutdown() & 3))); // RCV 1 = READ, SEND 2 = WRITE
            queue(sock, info.type(), e.getId(), files, fd);
        } catch (ErrnoException x) {
            throw new DumpException("cannot dump unix socket " + ino + " at " + fd.where() + ": " + x.getMessage(), x);
        }
    }

    private void queue(Fd sock, int type, int id, FileTable files, OpenFd fd) throws DumpException {
        int rcvbuf = Sockets.getIntOption(sock, Linux.SOL_SOCKET(), Linux.SO_RCVBUF());
        MemorySegment buf = arena.allocate(Math.max(rcvbuf, 64 * 1024));
        Sockets.setIntOption(sock, Linux.SOL_SOCKET(), Linux.SO_PEEK_OFF(), 0);
        try {
            for (long n; (n = Sockets.peek(sock, buf)) >= 0; ) {
                if (n == 0) {
                    // stream: the peer shut down; a zero-length datagram would not move the peek offset
                    break;
                }
                MemorySegment packet = arena.allocate(Math.max(n, 1)).asSlice(0, n);
                packet.copyFrom(buf.asSlice(0, n));
                files.addSocketPacket(new FileTable.Packet(id, packet));
            }
        } finally {
            Sockets.setIntOption(sock, Linux.SOL_SOCKET(), Linux.SO_PEEK_OFF(), -1);
        }
    }
}
