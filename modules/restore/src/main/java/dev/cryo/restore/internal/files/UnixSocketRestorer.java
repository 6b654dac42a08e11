package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.Linux;
import dev.cryo.parasite.Scratch;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.UnixSkEntry;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Sockets;

/**
 * One end of a unix socketpair. The first end restored creates the pair (socketpair in the task) and
 * cryo keeps both ends, by inode; the packets each end had queued are sent again from its peer, in order,
 * so they wait in the same receive queue. The second end, in this task or another, is handed over by cryo.
 */
final class UnixSocketRestorer implements FileRestorer {
    private static final int PF_UNIX = 1;
    /** asm-generic/socket.h; not in bindings' header list */
    private static final int SO_SNDBUFFORCE = 32;
    private static final int SO_RCVBUFFORCE = 33;

    @Override
    public int open(TaskFiles task, FileEntry file) {
        UnixSkEntry sk = file.getUsk();
        long ino = Integer.toUnsignedLong(sk.getIno());
        long peerIno = Integer.toUnsignedLong(sk.getPeer());
        if (sk.getPeer() == 0 || !sk.getName().isEmpty()) {
            throw new IllegalStateException("files.img: unix socket " + ino + " is not one end of a socketpair"
                    + " (peer " + peerIno + ", name '" + sk.getName().toStringUtf8() + "'); cryo restores socketpairs only");
        }
        Fd mine = task.files().socket(ino);
        if (mine != null) {
            return task.push(mine);
        }
        int[] pair = socketpair(task, sk.getType());
        Fd here = task.pull(pair[0]);
        Fd peer = task.pull(pair[1]);
        task.files().rememberSocket(ino, here);
        task.files().rememberSocket(peerIno, peer);
        task.in().closeFd(pair[1]);
        FileEntry peerFile = task.files().socketFile(peerIno);
        buffers(here, sk);
        if (peerFile != null) {
            buffers(peer, peerFile.getUsk());
        }
        requeue(task.files(), file.getId(), peer);
        if (peerFile != null) {
            requeue(task.files(), peerFile.getId(), here);
        }
        // after the queues: a shut side takes no more data. One end's send side is its peer's receive side.
        shutdown(here, sk);
        if (peerFile != null) {
            shutdown(peer, peerFile.getUsk());
        }
        return pair[0];
    }

    /**
     * The buffer sizes the task had, before the queues are refilled (a queue may need them). The kernel
     * doubles what it is given, and getsockopt at dump returned the doubled value: half of it goes in.
     * The FORCE options pass the system maximum, as a task that had CAP_NET_ADMIN could.
     */
    private static void buffers(Fd sock, UnixSkEntry sk) {
        if (!sk.hasOpts()) {
            return;
        }
        Sockets.setIntOption(sock, Linux.SOL_SOCKET(), SO_SNDBUFFORCE, sk.getOpts().getSoSndbuf() / 2);
        Sockets.setIntOption(sock, Linux.SOL_SOCKET(), SO_RCVBUFFORCE, sk.getOpts().getSoRcvbuf() / 2);
    }

    private static void shutdown(Fd sock, UnixSkEntry sk) {
        int how = switch (sk.getShutdown()) {
            case READ -> 0;   // SHUT_RD
            case WRITE -> 1;  // SHUT_WR
            case BOTH -> 2;   // SHUT_RDWR
            default -> -1;
        };
        if (how >= 0) {
            Sockets.shutdown(sock, how);
        }
    }

    /** Sends the packets dumped in the queue of socket {@code id} through its peer. */
    private static void requeue(FileSet files, int id, Fd peer) {
        for (MemorySegment packet : files.socketQueue(id)) {
            long n;
            try {
                n = Sockets.sendNow(peer, packet);
            } catch (ErrnoException e) {
                throw new IllegalStateException("unix socket file " + id + ": its dumped queue does not fit again: " + e.getMessage(), e);
            }
            if (n != packet.byteSize()) {
                throw new IllegalStateException("unix socket file " + id + ": requeued " + n + " of " + packet.byteSize() + " bytes");
            }
        }
    }

    private static int[] socketpair(TaskFiles task, int type) {
        try (Arena a = Arena.ofConfined(); Scratch s = task.in().scratch()) {
            long at = s.reserve(8);
            task.in().syscall("socketpair(AF_UNIX, " + type + ")", Linux.__NR_socketpair(), PF_UNIX,
                    type | Linux.O_CLOEXEC(), 0, at);
            MemorySegment fds = a.allocate(8);
            s.read(at, fds);
            return new int[] {fds.get(ValueLayout.JAVA_INT, 0), fds.get(ValueLayout.JAVA_INT, 4)};
        }
    }
}
