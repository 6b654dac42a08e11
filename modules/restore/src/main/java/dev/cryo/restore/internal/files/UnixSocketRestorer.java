package dev.cryo.restore.internal.files;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.UnixSkEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SocketAddress;
import dev.cryo.syscalls.Sockets;

/**
 * A unix socket, as the dump found it (CRIU's sk-unix.c tells the same cases apart):
 *
 * <ul>
 * <li>one end of a connection whose other end is in the tree too (a socketpair, or a client and the socket
 *     a server accepted for it): both ends are made at once by socketpair in the first task that has either,
 *     cryo keeps both, and a task that has the other end gets it from cryo;</li>
 * <li>a listener: bound to its name and listening, with its backlog;</li>
 * <li>a socket connected to a listener that had not accepted it yet, or a datagram socket connected to a
 *     named one (in the tree, or outside it with --ext-unix-sk): connected to that name again;</li>
 * <li>a socket whose peer had closed, or a datagram socket with data waiting: made as one end of a pair
 *     whose other end, cryo's, sends the data and goes away.</li>
 * </ul>
 *
 * Names are bound inside the task (a stale socket file at the path goes first, as in CRIU), with the file's
 * owner and mode as dumped; a name that was unlinked is bound and unlinked again, and its peers connect
 * through cryo's O_PATH fd of it. Bind, listen and connect run in the task, whose pid and credentials the
 * kernel records for SO_PEERCRED. The data each socket had queued is sent again from its peer, in order, with
 * the fds that rode on it. Options and shutdown come last.
 */
final class UnixSocketRestorer implements FileRestorer {
    /** unix_sk_entry.uflags: the entry stands for a socket outside the tree (CRIU's USK_EXTERN). */
    static final int USK_EXTERN = 1;

    /** A socket others connect to by name: made before any task's fds (see {@link TaskFiles#prepareSockets}). */
    static boolean isBindTarget(UnixSkEntry sk) {
        return (sk.getUflags() & USK_EXTERN) == 0 && !sk.getName().isEmpty()
                && (sk.getState() == Kernel.TCP_LISTEN || sk.getType() == Kernel.SOCK_DGRAM);
    }

    @Override
    public int open(TaskFiles task, FileEntry file) {
        UnixSkEntry sk = file.getUsk();
        FileSet files = task.files();
        long ino = Integer.toUnsignedLong(sk.getIno());
        if ((sk.getUflags() & USK_EXTERN) != 0) {
            throw new RestoreError("files.img: unix socket " + ino + " stands for a socket outside the tree; no fd can have it");
        }
        Fd made = files.socket(ino);
        if (made != null) {
            return task.push(made); // the other end of a pair made before
        }
        FileEntry peer = sk.getPeer() == 0 ? null : files.unixSocket(Integer.toUnsignedLong(sk.getPeer()));
        if (peer != null && Integer.toUnsignedLong(peer.getUsk().getPeer()) == ino && (peer.getUsk().getUflags() & USK_EXTERN) == 0) {
            return pair(task, file, peer);
        }
        return standalone(task, file, peer);
    }

    /** Both ends of a connection inside the tree, at once. */
    private static int pair(TaskFiles task, FileEntry file, FileEntry peerFile) {
        UnixSkEntry sk = file.getUsk(), peer = peerFile.getUsk();
        int[] fds = socketpair(task, sk.getType());
        Fd here = task.pull(fds[0]);
        Fd there = task.pull(fds[1]);
        task.files().rememberSocket(Integer.toUnsignedLong(sk.getIno()), here);
        task.files().rememberSocket(Integer.toUnsignedLong(peer.getIno()), there);
        try {
            // a datagram pair keeps its names; the ends of a stream connection share their listener's, taken
            bindName(task, fds[0], sk);
            bindName(task, fds[1], peer);
        } finally {
            task.in().closeFd(fds[1]);
        }
        SocketOptions.apply(here, sk.getOpts());
        SocketOptions.apply(there, peer.getOpts());
        refill(task, file.getId(), there);
        refill(task, peerFile.getId(), here);
        // after the queues: a shut side takes no more data. One end's send side is its peer's receive side.
        shutdown(here, sk);
        shutdown(there, peer);
        return fds[0];
    }

    /** A socket whose peer, if any, is made apart from it: a listener, a named socket, or one outside the tree. */
    private static int standalone(TaskFiles task, FileEntry file, FileEntry peer) {
        UnixSkEntry sk = file.getUsk();
        boolean dgram = sk.getType() == Kernel.SOCK_DGRAM;
        boolean queued = !task.files().socketQueue(file.getId()).isEmpty();
        boolean gonePeer = !dgram && sk.getState() == Kernel.TCP_ESTABLISHED && peer == null;
        int fd;
        if (gonePeer || (dgram && queued)) {
            // one end of a pair whose other end, cryo's, sends the queue and goes
            int[] fds = socketpair(task, sk.getType());
            try (Fd sender = task.pull(fds[1])) {
                task.in().closeFd(fds[1]);
                fd = fds[0];
                try (Fd self = task.pull(fd)) {
                    if (dgram) {
                        // a datagram socket takes data from its peer only: it goes unconnected (the queue is empty yet)
                        try (Arena a = Arena.ofConfined()) {
                            Sockets.connect(self, SocketAddress.unspecified(a));
                        }
                    }
                    refill(task, file.getId(), sender);
                }
            }
        } else {
            fd = (int) task.in().syscall("socket(AF_UNIX, " + sk.getType() + ")", Kernel.__NR_socket, Kernel.AF_UNIX,
                    sk.getType() | Kernel.SOCK_CLOEXEC, 0);
        }
        try (Fd self = task.pull(fd)) {
            bindName(task, fd, sk);
            if (sk.getState() == Kernel.TCP_LISTEN) {
                task.in().syscall("listen(" + sk.getBacklog() + ")", Kernel.__NR_listen, fd, sk.getBacklog());
            }
            if (peer != null) {
                connect(task, fd, sk, peer);
            }
            SocketOptions.apply(self, sk.getOpts());
            shutdown(self, sk);
        }
        return fd;
    }

    /** Connects the task's {@code fd} to {@code peer}'s name: a listener, or a named datagram socket. */
    private static void connect(TaskFiles task, int fd, UnixSkEntry sk, FileEntry peerFile) {
        UnixSkEntry peer = peerFile.getUsk();
        long peerIno = Integer.toUnsignedLong(peer.getIno());
        if ((peer.getUflags() & USK_EXTERN) != 0) {
            if (!task.files().network().extUnixSk()) {
                throw new RestoreError("unix socket " + Integer.toUnsignedLong(sk.getIno()) + " was connected to "
                        + display(peer) + ", outside the tree: restore with --ext-unix-sk to connect it again");
            }
        } else {
            task.inCryo(peerFile.getId()); // bound (and listening) before anyone connects
        }
        Fd unlinked = task.files().unlinkedName(peerIno);
        byte[] name = unlinked != null
                ? ("/proc/" + ProcessHandle.current().pid() + "/fd/" + unlinked.fd()).getBytes(java.nio.charset.StandardCharsets.UTF_8)
                : peer.getName().toByteArray();
        try {
            inDir(task, unlinked == null && relative(peer) ? peer.getNameDir() : null, () -> {
                try (Arena a = Arena.ofConfined(); Scratch s = task.in().scratch()) {
                    MemorySegment addr = SocketAddress.unix(a, name);
                    task.in().syscall("connect(" + display(peer) + ")", Kernel.__NR_connect, fd, s.put(addr), addr.byteSize());
                }
            });
        } catch (ErrnoException e) {
            throw new RestoreError("cannot connect unix socket " + Integer.toUnsignedLong(sk.getIno()) + " to "
                    + display(peer) + ": " + e.reason(), e);
        }
    }

    /**
     * Binds the task's {@code fd} to its dumped name, if it had one that a bind can give back (not the name a
     * connected stream socket took over from its listener). A path: a stale socket file there goes first; the
     * file gets its owner and mode; an unlinked one is bound and unlinked again (anything at the path meanwhile
     * is moved aside and back), and cryo keeps an O_PATH fd of it for its peers.
     */
    private static void bindName(TaskFiles task, int fd, UnixSkEntry sk) {
        if (sk.getName().isEmpty() || (sk.getType() != Kernel.SOCK_DGRAM && sk.getState() == Kernel.TCP_ESTABLISHED)) {
            return;
        }
        byte[] name = sk.getName().toByteArray();
        if (name[0] == 0) {
            bind(task, fd, name, null, sk);
            return;
        }
        Path path = path(sk);
        if (sk.getDeleted()) {
            bindUnlinked(task, fd, name, path, sk);
            return;
        }
        removeStale(path, sk);
        bind(task, fd, name, relative(sk) ? sk.getNameDir() : null, sk);
        perms(path, sk);
    }

    private static void bind(TaskFiles task, int fd, byte[] name, String dir, UnixSkEntry sk) {
        try {
            inDir(task, dir, () -> {
                try (Arena a = Arena.ofConfined(); Scratch s = task.in().scratch()) {
                    MemorySegment addr = SocketAddress.unix(a, name);
                    task.in().syscall("bind(" + display(sk) + ")", Kernel.__NR_bind, fd, s.put(addr), addr.byteSize());
                }
            });
        } catch (ErrnoException e) {
            throw new RestoreError("cannot bind unix socket " + Integer.toUnsignedLong(sk.getIno()) + " to "
                    + display(sk) + ": " + e.reason()
                    + (e.is(Errno.EADDRINUSE) ? " (another socket holds the name in this network namespace)" : ""), e);
        }
    }

    /** A socket whose path was unlinked after bind: bound there for a moment, as CRIU's ghost sockets are. */
    private static void bindUnlinked(TaskFiles task, int fd, byte[] name, Path path, UnixSkEntry sk) {
        Path parked = path.resolveSibling(path.getFileName() + ".cryo-sk-ghost");
        List<Path> made = new ArrayList<>();
        boolean moved = false;
        try {
            for (Path d = path.getParent(); d != null && !Files.exists(d); d = d.getParent()) {
                made.addFirst(d);
            }
            for (Path d : made) {
                Files.createDirectory(d);
            }
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                Files.move(path, parked, StandardCopyOption.REPLACE_EXISTING);
                moved = true;
            }
            bind(task, fd, name, relative(sk) ? sk.getNameDir() : null, sk);
            perms(path, sk);
            try (Fd self = task.pull(fd)) {
                task.files().rememberUnlinkedName(Integer.toUnsignedLong(sk.getIno()), Sockets.unixFile(self));
            }
            Files.delete(path);
        } catch (IOException e) {
            throw new RestoreError("cannot bind unix socket " + Integer.toUnsignedLong(sk.getIno()) + " to its unlinked name "
                    + path + ": " + e.getMessage(), e);
        } finally {
            try {
                if (moved) {
                    Files.move(parked, path);
                }
                for (Path d : made.reversed()) {
                    Files.deleteIfExists(d);
                }
            } catch (IOException e) {
                throw new RestoreError("cannot put back what was at " + path + ": " + e.getMessage(), e);
            }
        }
    }

    /** A socket file left at the path (its socket is gone, or runs beside) goes, as CRIU does; anything else stays and fails the bind. */
    private static void removeStale(Path path, UnixSkEntry sk) {
        try {
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)
                    && (((int) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 0170000) == 0140000) {
                Files.delete(path);
            }
        } catch (IOException e) {
            throw new RestoreError("cannot remove the stale socket file " + path + " of unix socket "
                    + Integer.toUnsignedLong(sk.getIno()) + ": " + e.getMessage(), e);
        }
    }

    /** The bound file's owner and mode, as dumped. */
    private static void perms(Path path, UnixSkEntry sk) {
        if (!sk.hasFilePerms()) {
            return;
        }
        try {
            Files.setAttribute(path, "unix:gid", sk.getFilePerms().getGid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(path, "unix:uid", sk.getFilePerms().getUid(), LinkOption.NOFOLLOW_LINKS);
            Files.setPosixFilePermissions(path, permissions(sk.getFilePerms().getMode()));
        } catch (IOException e) {
            throw new RestoreError("cannot give " + path + " its owner and mode: " + e.getMessage(), e);
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_READ};
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                p.add(bits[i]);
            }
        }
        return p;
    }

    /** Runs {@code call} in the task with {@code dir} as its working directory (a relative name), or where it is. */
    private static void inDir(TaskFiles task, String dir, Runnable call) {
        if (dir == null) {
            call.run();
            return;
        }
        try (Scratch s = task.in().scratch()) {
            task.in().syscall("chdir(" + dir + ")", Kernel.__NR_chdir, s.putString(dir));
        }
        call.run(); // the task's own cwd comes with its fs state, after its fds
    }

    private static boolean relative(UnixSkEntry sk) {
        return sk.getName().size() > 0 && sk.getName().byteAt(0) != 0 && sk.getName().byteAt(0) != '/' && sk.hasNameDir();
    }

    /** The absolute path of a path name. */
    private static Path path(UnixSkEntry sk) {
        String name = SocketAddress.displayUnix(sk.getName().toByteArray());
        return relative(sk) ? Path.of(sk.getNameDir(), name) : Path.of(name);
    }

    private static String display(UnixSkEntry sk) {
        return SocketAddress.displayUnix(sk.getName().toByteArray());
    }

    private static void shutdown(Fd sock, UnixSkEntry sk) {
        int how = switch (sk.getShutdown()) {
            case READ -> Kernel.SHUT_RD;
            case WRITE -> Kernel.SHUT_WR;
            case BOTH -> Kernel.SHUT_RDWR;
            default -> -1;
        };
        if (how >= 0) {
            Sockets.shutdown(sock, how);
        }
    }

    /**
     * Sends the packets dumped in the queue of socket {@code id} through {@code sender}, its peer, each with the
     * fds that rode on it (cryo's duplicates, opened now if no task had them yet). Once per socket.
     */
    private static void refill(TaskFiles task, int id, Fd sender) {
        List<FileSet.Packet> queue = task.files().socketQueue(id);
        if (queue.isEmpty() || !task.files().claimRefill(id)) {
            return;
        }
        for (FileSet.Packet p : queue) {
            int[] fds = new int[p.rights().size()];
            for (int i = 0; i < fds.length; i++) {
                fds[i] = task.inCryo(p.rights().get(i)).fd();
            }
            long n;
            try {
                n = Sockets.send(sender, p.data(), fds, Kernel.MSG_DONTWAIT);
            } catch (ErrnoException e) {
                throw new RestoreError("unix socket file " + id + ": its dumped queue does not fit again: " + e.getMessage(), e);
            }
            if (n != p.data().byteSize()) {
                throw new RestoreError("unix socket file " + id + ": requeued " + n + " of " + p.data().byteSize() + " bytes");
            }
        }
    }

    private static int[] socketpair(TaskFiles task, int type) {
        try (Arena a = Arena.ofConfined(); Scratch s = task.in().scratch()) {
            long at = s.reserve(8);
            task.in().syscall("socketpair(AF_UNIX, " + type + ")", Kernel.__NR_socketpair, Kernel.AF_UNIX,
                    type | Kernel.SOCK_CLOEXEC, 0, at);
            MemorySegment fds = a.allocate(8);
            s.read(at, fds);
            return new int[] {fds.get(ValueLayout.JAVA_INT, 0), fds.get(ValueLayout.JAVA_INT, 4)};
        }
    }
}
