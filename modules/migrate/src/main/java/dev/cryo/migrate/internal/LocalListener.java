package dev.cryo.migrate.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;

import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.UnixLink;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SeqpacketSocket;
import dev.cryo.syscalls.UnixStreamSocket;

/**
 * A daemon's local socket, where cryo's dumps and restores on this host connect: made mode 0600, appearing at
 * its path only once it listens (bound under a temporary name and renamed), a stale one left by a killed
 * daemon replaced, one that another daemon serves refused. Clients of another uid (but root) are turned away
 * with a FAILED frame. {@link #close()} stops a blocked {@link #accept} and removes the file, if still its own.
 */
public final class LocalListener implements AutoCloseable {
    private static final int BACKLOG = 16;

    private final Path path;
    private final Object fileKey;
    private final UnixStreamSocket socket;
    private final Io.Pipe stop;
    private final int uid;

    private LocalListener(Path path, Object fileKey, UnixStreamSocket socket, Io.Pipe stop, int uid) {
        this.path = path;
        this.fileKey = fileKey;
        this.socket = socket;
        this.stop = stop;
        this.uid = uid;
    }

    /** Listens at {@code path}; {@code what} names the daemon in a refusal ("image cache"). */
    public static LocalListener listen(Path path, String what) {
        Path absolute = path.toAbsolutePath();
        String refusal = "cannot listen at " + absolute + ": ";
        try {
            clearStale(absolute, refusal, what);
            Path temporary = absolute.resolveSibling("." + absolute.getFileName() + "." + ProcessHandle.current().pid());
            Path bound = temporary.toString().getBytes().length <= 107 ? temporary : absolute;
            UnixStreamSocket s;
            try {
                s = UnixStreamSocket.listen(bound.toString(), BACKLOG);
            } catch (ErrnoException | IllegalArgumentException e) {
                throw new RemoteImageException(refusal + e.getMessage(), e);
            }
            try {
                Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
                if (!bound.equals(absolute)) {
                    Files.move(bound, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
                Object key = Files.readAttributes(absolute, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
                int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
                return new LocalListener(absolute, key, s, Io.pipe(Kernel.O_CLOEXEC), uid);
            } catch (IOException | RuntimeException e) {
                s.close();
                Files.deleteIfExists(bound);
                throw e;
            }
        } catch (IOException e) {
            throw new RemoteImageException(refusal + e.getMessage(), e);
        }
    }

    private static void clearStale(Path address, String refusal, String what) throws IOException {
        if (!Files.exists(address, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.readAttributes(address, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
            throw new RemoteImageException(refusal + "the file exists and is not a socket");
        }
        try (UnixStreamSocket probe = UnixStreamSocket.connect(address.toString())) {
            throw new RemoteImageException(refusal + "another " + what + " (or another program) listens there");
        } catch (ErrnoException e) {
            if (!e.is(Errno.ECONNREFUSED)) {
                throw new RemoteImageException(refusal + e.getMessage(), e);
            }
            Files.deleteIfExists(address); // nobody listens: a killed daemon's socket
        }
    }

    public Path path() {
        return path;
    }

    /**
     * The next client of this uid (or root), as a link named {@code cryo pid N}; null once {@link #close()}
     * was called. A client of another uid is told why and closed.
     */
    public UnixLink accept() {
        while (true) {
            UnixStreamSocket s = socket.accept(stop.read());
            if (s == null) {
                return null;
            }
            SeqpacketSocket.Peer peer;
            try {
                peer = s.peer();
            } catch (ErrnoException e) {
                s.close();
                continue;
            }
            UnixLink link = UnixLink.accepted(s, "cryo pid " + peer.pid());
            if (peer.uid() != uid && peer.uid() != 0) {
                new dev.cryo.images.remote.FrameChannel(link).fail("cryo pid " + peer.pid() + " (uid " + peer.uid() + ") may not use the images of uid " + uid);
                continue;
            }
            return link;
        }
    }

    /** Ends a blocked {@link #accept} (from any thread); the owner then closes. */
    public void wake() {
        try (Arena a = Arena.ofConfined()) {
            Io.writeFully(stop.write().fd(), a.allocate(1));
        } catch (ErrnoException e) {
            // woken already
        }
    }

    @Override
    public void close() {
        socket.close();
        stop.close();
        try {
            Object now = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (Objects.equals(now, fileKey)) {
                Files.delete(path);
            }
        } catch (IOException e) {
            // gone already, or another daemon's now
        }
    }
}
