package dev.cryo.dump.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdinfoEntry;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FownEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.FileOwner;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
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
                files.locks().add(fd, id);
                out.add(FdinfoEntry.newBuilder().setId(id).setFlags(fd.cloexec() ? Kernel.FD_CLOEXEC : 0)
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
        dumperFor(fd, sockets, arena, files).dump(fd, e, files);
        owner(fd, e);
        files.add(e.build());
        return id;
    }

    /**
     * The SIGIO owner and signal of the open file (F_GETOWN_EX, F_GETSIG, F_GETOWNER_UIDS through a
     * duplicate), into the fown field that every kind's entry has, whichever dumper filled it.
     */
    private static void owner(OpenFd fd, FileEntry.Builder e) throws DumpException {
        FileOwner o;
        try (Fd dup = Pidfd.getFd(fd.pidfd(), fd.fd())) {
            o = FileOwner.of(dup);
        } catch (ErrnoException x) {
            throw new DumpException("cannot read the owner of " + fd.where() + ": " + x.getMessage(), x);
        }
        FownEntry fown = FownEntry.newBuilder().setUid(o.uid()).setEuid(o.euid()).setSignum(o.signal())
                .setPidType(o.type()).setPid(o.pid()).build();
        for (FieldDescriptor f : e.getAllFields().keySet()) {
            if (f.getType() == FieldDescriptor.Type.MESSAGE) {
                Message.Builder kind = e.getFieldBuilder(f);
                FieldDescriptor field = kind.getDescriptorForType().findFieldByName("fown");
                if (field != null) {
                    kind.setField(field, fown);
                }
            }
        }
    }

    private static dev.cryo.images.proto.FdTypes typeOf(FileTable files, int id) {
        return files.entry(id).getType();
    }

    private static FileDumper dumperFor(OpenFd fd, SocketTable sockets, Arena arena, FileTable files) throws DumpException {
        String link = fd.link();
        if (link.startsWith("pipe:[")) {
            return new PipeDumper(arena);
        }
        if (link.equals("anon_inode:[eventfd]")) {
            return new EventfdDumper();
        }
        if (link.equals("anon_inode:[eventpoll]")) {
            return new EpollDumper();
        }
        if (link.equals("anon_inode:[timerfd]")) {
            return new TimerfdDumper();
        }
        if (link.equals("anon_inode:[signalfd]")) {
            return new SignalfdDumper();
        }
        if (link.equals("anon_inode:inotify")) {
            return new InotifyDumper();
        }
        if (link.startsWith("socket:[")) {
            return new SocketDumper(arena, sockets);
        }
        if (PtyDumper.isMaster(link)) {
            return new PtyDumper(true, PtyDumper.masterIndex(fd));
        }
        int slave = PtyDumper.slaveIndex(link);
        if (slave >= 0 && files.ptyMasters().contains(slave)) {
            return new PtyDumper(false, slave);
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
