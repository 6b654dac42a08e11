package dev.cryo.service.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Objects;

import dev.cryo.service.internal.rpc.CriuOpts;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SeqpacketSocket.Peer;

/**
 * The directories a request names, as paths of the service's own. A client names a directory by an fd of
 * its own ({@code images_dir_fd}, {@code work_dir_fd}), reached through {@code /proc/PID/fd/N} of the pid
 * the socket says it is (SO_PEERCRED), as CRIU does, or by a path ({@code images_dir}). The fd's link is read
 * to the directory's path, so that paths relative to it ({@code parent_img ../pre1}) are seen from the
 * directory itself, and that path is checked to be the very directory the fd holds (the service might see
 * another mount namespace than the client's).
 */
final class ClientDirs {
    private ClientDirs() {}

    /** The images directory of a request, or a failure naming what is wrong with it. */
    static Path imagesDir(CriuOpts opts, Peer peer) throws RequestFailure {
        if (opts.getImagesDirFd() != -1) {
            return clientFd(peer, opts.getImagesDirFd(), "images_dir_fd");
        }
        if (opts.hasImagesDir()) {
            Path dir = Path.of(opts.getImagesDir());
            if (!dir.isAbsolute()) {
                throw new RequestFailure(Kernel.EBADRQC, "images_dir " + dir + " is not an absolute path");
            }
            if (!Files.isDirectory(dir)) {
                throw new RequestFailure(Kernel.ENOENT, "images_dir " + dir + ": no such directory");
            }
            return dir;
        }
        throw new RequestFailure(Kernel.EBADRQC, "the request names no images directory (images_dir_fd or images_dir)");
    }

    /** Where a request's log goes: its {@code work_dir_fd}, else its images directory. */
    static Path workDir(CriuOpts opts, Peer peer, Path imagesDir) throws RequestFailure {
        return opts.hasWorkDirFd() ? clientFd(peer, opts.getWorkDirFd(), "work_dir_fd") : imagesDir;
    }

    private static Path clientFd(Peer peer, int fd, String field) throws RequestFailure {
        String what = field + " " + fd + " of pid " + peer.pid();
        Path link = Path.of("/proc", Integer.toString(peer.pid()), "fd", Integer.toString(fd));
        Path dir;
        try {
            dir = Files.readSymbolicLink(link);
        } catch (IOException e) {
            throw new RequestFailure(Kernel.EBADF, what + " is not an open fd (" + link + ": " + e.getMessage() + ")");
        }
        if (!dir.isAbsolute()) {
            throw new RequestFailure(Kernel.ENOTDIR, what + " is not a directory (it is " + dir + ")");
        }
        try {
            if (!Files.isDirectory(link)) {
                throw new RequestFailure(Kernel.ENOTDIR, what + " is not a directory (it is " + dir + ")");
            }
            Object held = Files.readAttributes(link, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            Object named = Files.readAttributes(dir, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
            if (!Objects.equals(held, named)) {
                throw new RequestFailure(Kernel.EXDEV, what + " is " + dir + " in the client's view, which is another"
                        + " directory in the service's (another mount namespace?)");
            }
        } catch (IOException e) {
            throw new RequestFailure(Kernel.ENOENT, what + " is " + dir + ", which the service cannot see (" + e.getMessage() + ")");
        }
        return dir;
    }
}
