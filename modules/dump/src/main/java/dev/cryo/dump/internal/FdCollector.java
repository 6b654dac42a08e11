package dev.cryo.dump.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Pidfd;

/**
 * The open descriptors of one process, read from {@code /proc/PID/fd} and {@code /proc/PID/fdinfo}, each
 * dumped by the {@link FileDumper} of its kind. Two fds that share one open file description, in this
 * process or one dumped before, get one file id (kcmp), so that restore shares the offset again.
 */
final class FdCollector {
    private FdCollector() {}

    /** Adds the process's files to {@code files} and returns its fdinfo entries in fd order. */
    static List<FdinfoEntry> collect(int pid, FileTable files, SocketTable sockets, Arena arena) throws DumpException {
        List<Integer> fds = new ArrayList<>();
        try (var dir = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            dir.forEach(p -> fds.add(Integer.parseInt(p.getFileName().toString())));
        } catch (IOException e) {
            throw new DumpException("cannot list the descriptors of pid " + pid + ": " + e.getMessage(), e);
        }
        fds.sort(Integer::compare);
        List<FdinfoEntry> out = new ArrayList<>();
        try (Fd pidfd = Pidfd.open(pid)) {
            for (int n : fds) {
                OpenFd fd = read(pid, n, pidfd);
                int id = fileId(fd, files, sockets, arena);
                out.add(FdinfoEntry.newBuilder().setId(id).setFlags(fd.cloexec() ? Linux.FD_CLOEXEC() : 0)
                        .setType(typeOf(files, id)).setFd(n).build());
            }
        } catch (ErrnoException e) {
            throw new DumpException("cannot dump the fds of pid " + pid + ": " + e.getMessage(), e);
        }
        return out;
    }

    static OpenFd read(int pid, int n, Fd pidfd) throws DumpException {
        try {
            return OpenFd.read(pid, n, pidfd, Io.readlink("/proc/" + pid + "/fd/" + n));
        } catch (ErrnoException | IOException e) {
            throw new DumpException("cannot read fd " + n + " of pid " + pid + ": " + e.getMessage(), e);
        }
    }

    /**
     * The file id of {@code fd}: the one of an fd dumped before that shares its open file description, or a
     * new one, whose file is dumped now. The fd is known before its file is dumped, so that a socket whose
     * own queue carries it (SCM_RIGHTS) finds it.
     */
    static int fileId(OpenFd fd, FileTable files, SocketTable sockets, Arena arena) throws DumpException {
        // fds of one open file description show the same target, flags and offset
        String key = fd.link() + "|" + fd.flags() + "|" + fd.pos();
        Integer shared = files.sharedId(fd.pid(), fd.fd(), key);
        if (shared != null) {
            files.seen(fd.pid(), fd.fd(), key, shared);
            return shared;
        }
        int id = files.nextId();
        files.seen(fd.pid(), fd.fd(), key, id);
        FileEntry.Builder e = FileEntry.newBuilder().setId(id);
        dumperFor(fd, sockets, arena).dump(fd, e, files);
        files.add(e.build());
        return id;
    }

    private static dev.cryo.images.proto.FdTypes typeOf(FileTable files, int id) {
        return files.entry(id).getType();
    }

    private static FileDumper dumperFor(OpenFd fd, SocketTable sockets, Arena arena) throws DumpException {
        String link = fd.link();
        if (link.startsWith("pipe:[")) {
            return new PipeDumper(arena);
        }
        if (link.equals("anon_inode:[eventfd]")) {
            return new EventfdDumper();
        }
        if (link.startsWith("socket:[")) {
            return new SocketDumper(arena, sockets);
        }
        if (link.equals("/dev/ptmx") || link.startsWith("/dev/pts/ptmx")) {
            // reopening /dev/ptmx by path makes a new terminal pair: the tree's own pty cannot come back that way
            throw new DumpException("cannot dump " + fd.where() + ": it is a pseudo-terminal master, which cryo cannot dump yet");
        }
        if (MemfdDumper.isMemfd(link)) {
            return new MemfdDumper(arena);
        }
        if (link.startsWith("/")) {
            Map<String, Object> attrs;
            try {
                attrs = Files.readAttributes(fd.procPath(), "unix:mode,ino");
            } catch (IOException e) {
                throw new DumpException("cannot stat " + fd.where() + " (" + link + "): " + e.getMessage(), e);
            }
            if (((int) attrs.get("mode") & 0170000) == 0010000) {
                return new FifoDumper(arena, (long) attrs.get("ino"));
            }
            return new RegFileDumper(arena);
        }
        throw new DumpException("cannot dump " + fd.where() + ": it is " + link + ", which cryo cannot dump yet");
    }
}
