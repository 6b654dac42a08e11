package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.timeval;

/** The calls every connected stream socket makes alike, unix or TCP: {@link UnixStreamSocket} and {@link TcpSocket}. */
final class StreamCalls {
    private StreamCalls() {}

    /** SO_SNDTIMEO and SO_RCVTIMEO: a send or recv that blocks this long fails with EAGAIN. Zero: never. */
    static void timeouts(Fd fd, Duration d) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tv = timeval.allocate(a);
            timeval.tv_sec(tv, d.toSeconds());
            timeval.tv_usec(tv, d.toMillisPart() * 1000L);
            Syscall.call("setsockopt(SO_SNDTIMEO)", Linux.__NR_setsockopt(), fd.fd(), Linux.SOL_SOCKET(), Linux.SO_SNDTIMEO(),
                    tv.address(), tv.byteSize());
            Syscall.call("setsockopt(SO_RCVTIMEO)", Linux.__NR_setsockopt(), fd.fd(), Linux.SOL_SOCKET(), Linux.SO_RCVTIMEO(),
                    tv.address(), tv.byteSize());
        }
    }

    /** One send(2) of up to all of {@code data}, without SIGPIPE; EINTR is retried. */
    static long send(Fd fd, MemorySegment data) {
        while (true) {
            try {
                return Syscall.call("send", Linux.__NR_sendto(), fd.fd(), data.address(), data.byteSize(), Linux.MSG_NOSIGNAL(), 0, 0);
            } catch (ErrnoException e) {
                if (!e.is(Errno.EINTR)) {
                    throw e;
                }
            }
        }
    }

    static void sendFully(Fd fd, MemorySegment data) {
        for (long done = 0; done < data.byteSize(); ) {
            done += send(fd, data.asSlice(done));
        }
    }

    /** One recv(2) into {@code buf}; 0 when the peer has closed its side. EINTR is retried. */
    static long recv(Fd fd, MemorySegment buf) {
        while (true) {
            try {
                return Syscall.call("recv", Linux.__NR_recvfrom(), fd.fd(), buf.address(), buf.byteSize(), 0, 0, 0);
            } catch (ErrnoException e) {
                if (!e.is(Errno.EINTR)) {
                    throw e;
                }
            }
        }
    }

    static long recvFully(Fd fd, MemorySegment buf) {
        long done = 0;
        while (done < buf.byteSize()) {
            long n = recv(fd, buf.asSlice(done));
            if (n == 0) {
                break;
            }
            done += n;
        }
        return done;
    }

    /** shutdown(SHUT_RDWR), a socket no longer connected (ENOTCONN) being already so. */
    static void shutdown(Fd fd) {
        try {
            Syscall.call("shutdown", Linux.__NR_shutdown(), fd.fd(), Linux.SHUT_RDWR());
        } catch (ErrnoException e) {
            if (!e.is(Errno.ENOTCONN)) {
                throw e;
            }
        }
    }

    static void shutdownOutput(Fd fd) {
        Syscall.call("shutdown(SHUT_WR)", Linux.__NR_shutdown(), fd.fd(), Linux.SHUT_WR());
    }
}
