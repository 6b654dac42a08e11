package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.cmsghdr;
import dev.cryo.bindings.iovec;
import dev.cryo.bindings.msghdr;

/**
 * A unix socket of type {@code SOCK_SEQPACKET}: connected, reliable, and message by message (one
 * {@link #send} is one {@link #receive} on the other side, whatever its size), as CRIU's RPC speaks.
 * It owns its fd. {@link #shutdown()} may be called from another thread to end a blocked
 * {@link #receive} or {@link #accept}; {@link #close()} only by the owner.
 */
public final class SeqpacketSocket implements AutoCloseable {
    private final Fd fd;

    private SeqpacketSocket(Fd fd) {
        this.fd = fd;
    }

    /** Who is at the other end of a connected socket (SO_PEERCRED: as it was at connect or socketpair). */
    public record Peer(int pid, int uid, int gid) {}

    /** A socket bound to {@code path} (which must not exist) and listening, close-on-exec and non-blocking. */
    public static SeqpacketSocket listen(String path, int backlog) {
        return new SeqpacketSocket(UnixSockets.listen(Linux.SOCK_SEQPACKET(), path, backlog));
    }

    /** A socket connected to the one listening at {@code path}. */
    public static SeqpacketSocket connect(String path) {
        return new SeqpacketSocket(UnixSockets.connect(Linux.SOCK_SEQPACKET(), path));
    }

    /**
     * Takes ownership of an inherited fd (CRIU's {@code swrk FD}) after checking that it is a unix
     * SOCK_SEQPACKET socket; marks it close-on-exec. Throws {@link IllegalArgumentException} naming what it is otherwise.
     */
    public static SeqpacketSocket adopt(int fd) {
        Fd owned = Fd.own(fd);
        try {
            int domain = Sockets.getIntOption(owned, Linux.SOL_SOCKET(), Linux.SO_DOMAIN());
            int type = Sockets.getIntOption(owned, Linux.SOL_SOCKET(), Linux.SO_TYPE());
            if (domain != Linux.AF_UNIX() || type != Linux.SOCK_SEQPACKET()) {
                throw new IllegalArgumentException("fd " + fd + " is a socket of domain " + domain + " and type " + type
                        + ", not a unix SOCK_SEQPACKET socket");
            }
            Io.fcntl(fd, Linux.F_SETFD(), Linux.FD_CLOEXEC());
            return new SeqpacketSocket(owned);
        } catch (ErrnoException e) {
            owned.release();
            if (e.is(Errno.EBADF)) {
                throw new IllegalArgumentException("fd " + fd + " is not open", e);
            }
            if (e.errno() == Linux.ENOTSOCK()) {
                throw new IllegalArgumentException("fd " + fd + " is not a socket", e);
            }
            throw e;
        } catch (RuntimeException e) {
            owned.release();
            throw e;
        }
    }

    /** Both ends of a connected pair (tests, and what a client such as pycriu's use_binary makes). */
    public static SeqpacketSocket[] pair() {
        Fd[] fds = UnixSockets.pair(Linux.SOCK_SEQPACKET());
        return new SeqpacketSocket[] {new SeqpacketSocket(fds[0]), new SeqpacketSocket(fds[1])};
    }

    /**
     * The next connection, close-on-exec; blocks until a client connects or {@code wake} (an eventfd or a
     * pipe's read end) becomes readable, then returns null.
     */
    public SeqpacketSocket accept(Fd wake) {
        Fd connection = UnixSockets.accept(fd, wake);
        return connection == null ? null : new SeqpacketSocket(connection);
    }

    /** The connection waiting on this listening socket (poll said so), close-on-exec; null if it went meanwhile. */
    public SeqpacketSocket acceptReady() {
        Fd connection = UnixSockets.acceptReady(fd);
        return connection == null ? null : new SeqpacketSocket(connection);
    }

    public Peer peer() {
        return UnixSockets.peer(fd);
    }

    /**
     * The next message, whole, in a segment of its exact size allocated from {@code arena}; null when the
     * peer has closed its end (or {@link #shutdown()} was called). Blocks until one comes.
     */
    public MemorySegment receive(Arena arena) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment probe = a.allocate(1);
            // MSG_TRUNC: the real length of the message even though one byte is asked for; MSG_PEEK leaves it queued.
            long size = recvmsg(a, probe, Linux.MSG_PEEK() | Linux.MSG_TRUNC());
            if (size == 0) {
                return null;
            }
            MemorySegment message = arena.allocate(size);
            long got = recvmsg(a, message, 0);
            if (got != size) {
                throw new IllegalStateException("recvmsg gave " + got + " bytes of a message of " + size);
            }
            return message;
        }
    }

    /**
     * {@link #receive}, and the descriptors the message carries (SCM_RIGHTS, at most {@code maxFds}) added to
     * {@code fds}, each close-on-exec and owned by the caller. A message that carried more than {@code maxFds}
     * fails (the kernel closed the rest), with the ones received closed too.
     */
    public MemorySegment receive(Arena arena, int maxFds, List<Fd> fds) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment probe = a.allocate(1);
            long size = recvmsg(a, probe, Linux.MSG_PEEK() | Linux.MSG_TRUNC());
            if (size == 0) {
                return null;
            }
            MemorySegment message = arena.allocate(size);
            long space = cmsghdr.sizeof() + 4L * maxFds + 8;
            MemorySegment control = a.allocate(space, 8);
            control.fill((byte) 0);
            MemorySegment msg = msghdr.allocate(a);
            long got = recvmsg(a, message, 0, msg, control);
            if (got != size) {
                throw new IllegalStateException("recvmsg gave " + got + " bytes of a message of " + size);
            }
            long len = msghdr.msg_controllen(msg);
            int taken = 0;
            if (len >= cmsghdr.sizeof() && cmsghdr.cmsg_level(control) == Linux.SOL_SOCKET()
                    && cmsghdr.cmsg_type(control) == Linux.SCM_RIGHTS()) {
                int n = (int) ((cmsghdr.cmsg_len(control) - cmsghdr.sizeof()) / 4);
                for (int i = 0; i < n; i++) {
                    int fd = control.get(ValueLayout.JAVA_INT, cmsghdr.sizeof() + 4L * i);
                    Io.fcntl(fd, Linux.F_SETFD(), Linux.FD_CLOEXEC());
                    fds.add(Fd.own(fd));
                    taken++;
                }
            }
            // MSG_CTRUNC (8, linux/socket.h): descriptors beyond the control buffer were dropped by the kernel
            if ((msghdr.msg_flags(msg) & 8) != 0) {
                for (int i = 0; i < taken; i++) {
                    fds.removeLast().close();
                }
                throw new IllegalStateException("a message carried more than " + maxFds + " descriptors");
            }
            return message;
        }
    }

    /** Sends {@code message} as one message with {@code fdsToPass} attached (SCM_RIGHTS): the peer gets the same open files. */
    public void send(MemorySegment message, int... fdsToPass) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iov = iovec.allocate(a);
            iovec.iov_base(iov, message);
            iovec.iov_len(iov, message.byteSize());
            MemorySegment msg = msghdr.allocate(a);
            msg.fill((byte) 0);
            msghdr.msg_iov(msg, iov);
            msghdr.msg_iovlen(msg, 1);
            if (fdsToPass.length > 0) {
                long len = cmsghdr.sizeof() + 4L * fdsToPass.length;
                MemorySegment control = a.allocate((len + 7) & ~7L, 8);
                control.fill((byte) 0);
                cmsghdr.cmsg_len(control, len);
                cmsghdr.cmsg_level(control, Linux.SOL_SOCKET());
                cmsghdr.cmsg_type(control, Linux.SCM_RIGHTS());
                for (int i = 0; i < fdsToPass.length; i++) {
                    control.set(ValueLayout.JAVA_INT, cmsghdr.sizeof() + 4L * i, fdsToPass[i]);
                }
                msghdr.msg_control(msg, control);
                msghdr.msg_controllen(msg, control.byteSize());
            }
            while (true) {
                try {
                    long sent = Syscall.call("sendmsg", Linux.__NR_sendmsg(), fd.fd(), msg.address(), Linux.MSG_NOSIGNAL());
                    if (sent != message.byteSize()) {
                        throw new IllegalStateException("sendmsg sent " + sent + " bytes of a message of " + message.byteSize());
                    }
                    return;
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EINTR)) {
                        throw e;
                    }
                }
            }
        }
    }

    private long recvmsg(Arena a, MemorySegment into, int flags) {
        return recvmsg(a, into, flags, msghdr.allocate(a), null);
    }

    private long recvmsg(Arena a, MemorySegment into, int flags, MemorySegment msg, MemorySegment control) {
        MemorySegment iov = iovec.allocate(a);
        iovec.iov_base(iov, into);
        iovec.iov_len(iov, into.byteSize());
        msg.fill((byte) 0);
        msghdr.msg_iov(msg, iov);
        msghdr.msg_iovlen(msg, 1);
        if (control != null) {
            msghdr.msg_control(msg, control);
            msghdr.msg_controllen(msg, control.byteSize());
        }
        while (true) {
            try {
                return Syscall.call("recvmsg", Linux.__NR_recvmsg(), fd.fd(), msg.address(), flags);
            } catch (ErrnoException e) {
                if (!e.is(Errno.EINTR)) {
                    throw e;
                }
            }
        }
    }

    /** Sends {@code message} as one message (MSG_NOSIGNAL: a peer that is gone is an EPIPE, not a signal). */
    public void send(MemorySegment message) {
        send(message, new int[0]);
    }

    /**
     * Waits until the peer hangs up or {@code wake} (an eventfd or a pipe's read end) becomes readable;
     * true for a hang-up. Messages the peer sends meanwhile stay queued: only the hang-up is looked for.
     */
    public boolean awaitHangup(Fd wake) {
        short hangup = (short) (Linux.POLLRDHUP() | Linux.POLLHUP() | Linux.POLLERR());
        short[] revents = Poll.poll(new int[] {fd.fd(), wake.fd()}, new short[] {(short) Linux.POLLRDHUP(), (short) Linux.POLLIN()}, -1);
        return (revents[0] & hangup) != 0;
    }

    /** Ends every blocked and later receive on this connected socket (it returns null); safe from any thread. */
    public void shutdown() {
        try {
            Syscall.call("shutdown", Linux.__NR_shutdown(), fd.fd(), Linux.SHUT_RDWR());
        } catch (ErrnoException e) {
            if (!e.is(Errno.ENOTCONN)) {
                throw e;
            }
        }
    }

    public int fd() {
        return fd.fd();
    }

    @Override
    public void close() {
        fd.close();
    }
}
