package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.bindings.Linux;
import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.EventfdFileEntry;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.PipeEntry;
import dev.cryo.images.proto.RegFileEntry;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;

/**
 * The open descriptors of one process, read from {@code /proc/PID/fd} and {@code /proc/PID/fdinfo}.
 * Pipe contents are copied with {@code tee(2)} from a second read end opened through /proc, so the
 * task's data stays in its pipe.
 */
final class FdCollector {
    private FdCollector() {}

    /** One line of fdinfo: {@code pos}, {@code flags} (octal), and type-specific lines. */
    private record FdInfo(long pos, int flags, String text) {
        static FdInfo read(int pid, int fd) throws java.io.IOException {
            String text = Files.readString(Path.of("/proc/" + pid + "/fdinfo/" + fd));
            long pos = 0;
            int flags = 0;
            for (String line : text.split("\n")) {
                if (line.startsWith("pos:")) {
                    pos = Long.parseLong(line.substring(4).trim());
                } else if (line.startsWith("flags:")) {
                    flags = Integer.parseInt(line.substring(6).trim(), 8);
                }
            }
            return new FdInfo(pos, flags, text);
        }

        String field(String name) {
            for (String line : text.split("\n")) {
                if (line.startsWith(name + ":")) {
                    return line.substring(name.length() + 1).trim();
                }
            }
            return null;
        }
    }

    /** Adds the process's files to {@code files} and returns its fdinfo entries in fd order. */
    static List<FdinfoEntry> collect(int pid, FileTable files, Arena arena) throws DumpException {
        List<Integer> fds = new ArrayList<>();
        try (var dir = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            dir.forEach(p -> fds.add(Integer.parseInt(p.getFileName().toString())));
        } catch (java.io.IOException e) {
            throw new DumpException("cannot list the descriptors of pid " + pid + ": " + e.getMessage(), e);
        }
        fds.sort(Integer::compare);
        List<FdinfoEntry> out = new ArrayList<>();
        for (int fd : fds) {
            String link;
            FdInfo info;
            try {
                link = Io.readlink("/proc/" + pid + "/fd/" + fd);
                info = FdInfo.read(pid, fd);
            } catch (ErrnoException | java.io.IOException e) {
                throw new DumpException("cannot read fd " + fd + " of pid " + pid + ": " + e.getMessage(), e);
            }
            int cloexec = (info.flags & Linux.O_CLOEXEC()) != 0 ? Linux.FD_CLOEXEC() : 0;
            int flags = info.flags & ~Linux.O_CLOEXEC();
            int id = files.nextId();
            FdTypes type;
            FileEntry.Builder e = FileEntry.newBuilder().setId(id);
            if (link.startsWith("pipe:[")) {
                long ino = Long.parseLong(link.substring(6, link.length() - 1));
                type = FdTypes.PIPE;
                e.setPipe(PipeEntry.newBuilder().setId(id).setPipeId((int) ino).setFlags(flags).setFown(FileTable.NO_OWNER));
                if (!files.hasPipeData(ino)) {
                    files.addPipeData(pipeData(pid, fd, ino, arena));
                }
            } else if (link.equals("anon_inode:[eventfd]")) {
                type = FdTypes.EVENTFD;
                long counter = Long.parseUnsignedLong(info.field("eventfd-count"), 16);
                e.setEfd(EventfdFileEntry.newBuilder().setId(id).setFlags(flags).setFown(FileTable.NO_OWNER).setCounter(counter));
            } else if (link.startsWith("/") && !link.endsWith(" (deleted)")) {
                type = FdTypes.REG;
                RegFileEntry.Builder reg = RegFileEntry.newBuilder().setId(id).setFlags(flags).setPos(info.pos)
                        .setFown(FileTable.NO_OWNER).setName(link);
                try {
                    reg.setSize(Files.size(Path.of("/proc/" + pid + "/fd/" + fd)));
                } catch (java.io.IOException ignored) {
                    // a character device or a directory has no size worth recording
                }
                e.setReg(reg);
            } else {
                throw new DumpException("pid " + pid + " fd " + fd + " is " + link + ", which cryo cannot dump yet");
            }
            e.setType(type);
            files.add(e.build());
            out.add(FdinfoEntry.newBuilder().setId(id).setFlags(cloexec).setType(type).setFd(fd).build());
        }
        return out;
    }

    /** What the pipe holds, read without consuming it: a read end of our own through /proc, then tee. */
    private static FileTable.PipeData pipeData(int pid, int fd, long ino, Arena arena) throws DumpException {
        try (Fd reader = Io.open("/proc/" + pid + "/fd/" + fd, Linux.O_RDONLY() | Linux.O_NONBLOCK());
             Io.Pipe copy = Io.pipe(Linux.O_NONBLOCK())) {
            int capacity = (int) Io.fcntl(reader.fd(), Linux.F_GETPIPE_SZ(), 0);
            Io.fcntl(copy.write().fd(), Linux.F_SETPIPE_SZ(), capacity);
            long n;
            try {
                n = Io.tee(reader.fd(), copy.write().fd(), capacity, Linux.SPLICE_F_NONBLOCK());
            } catch (ErrnoException e) {
                if (!e.is(Errno.EAGAIN)) {
                    throw e;
                }
                n = 0; // empty pipe
            }
            MemorySegment data = arena.allocate(Math.max(n, 1)).asSlice(0, n);
            long got = 0;
            while (got < n) {
                got += Io.read(copy.read().fd(), data.asSlice(got));
            }
            return new FileTable.PipeData(ino, capacity, data);
        } catch (ErrnoException e) {
            throw new DumpException("cannot read the pipe at fd " + fd + " of pid " + pid + ": " + e.getMessage(), e);
        }
    }
}
