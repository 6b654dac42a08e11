package dev.cryo.restore.internal.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.proto.FileLockEntry;
import dev.cryo.images.proto.FownEntry;
import dev.cryo.images.proto.TtyInfoEntry;
import dev.cryo.syscalls.Sockets;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import dev.cryo.images.EntryReader;
import dev.cryo.parasite.Scratch;
import dev.cryo.restore.internal.CallBatch;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.FileOwner;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Pidfd;

/**
 * The fd table of one task, rebuilt inside its puppet from fdinfo-ID.img (seed 003).
 *
 * <p>The puppet's own fds are closed first. Each file is then opened inside the task at the lowest free
 * number and moved to its dumped number with dup3; the temporary is closed at once. The restorer's
 * temporaries thus sit at free numbers at or below the task's highest dumped fd, not near RLIMIT_NOFILE:
 * the fd table never grows past the size it had at dump (FDSize in /proc/PID/status), because a table
 * only grows and every fd opened, even briefly, counts. Files that need two numbers at once go first,
 * while numbers are free; a dense table (every number below 64 taken) keeps FDSize 64. Two fds that
 * shared one open file description at dump (same file id) share one again: the second is a dup of the
 * first, or, in another task, the same description handed over through cryo (pidfd_getfd both ways).
 */
public final class TaskFiles {
    private final Puppet in;
    private final FileSet files;
    private final Fd pidfd;
    /** file id -> the task's fd that holds it, once placed */
    private final Map<Integer, Integer> placed = new HashMap<>();
    /** What the files this task opened still need once all its fds are in place ({@link FileRestorer#finish}). */
    private final List<Runnable> finishing = new ArrayList<>();

    private TaskFiles(Puppet in, FileSet files, Fd pidfd) {
        this.in = in;
        this.files = files;
        this.pidfd = pidfd;
    }

    /**
     * Restores the fds of task {@code dumpedPid} (pid in the images) of the tree dumped in {@code store}.
     * The tasks of one restore share one {@link FileSet}: a file that several tasks share is created once.
     */
    public static void restore(Puppet in, ImageStore store, int dumpedPid, CoreEntry core, NetworkRestore network) {
        FileSet files = FileSet.shared(store);
        files.network(network);
        try {
            restore(in, files, dumpedPid, core);
        } catch (RuntimeException e) {
            files.abandon();
            throw e;
        }
        files.done(dumpedPid);
    }

    /**
     * Before any task has its fds: the unix sockets that others connect to (listeners, named datagram
     * sockets) of task {@code dumpedPid} are made in it now, bound (and listening), so that a socket of any
     * task can connect to them, wherever it comes in the order. cryo keeps them; the task's fds take them
     * later. Made in their own task, they hold its credentials (SO_PEERCRED), as at dump.
     */
    public static void prepareSockets(Puppet in, ImageStore store, int dumpedPid, CoreEntry core, NetworkRestore network) {
        FileSet files = FileSet.shared(store);
        files.network(network);
        try (Fd pidfd = Pidfd.open(in.pid())) {
            TaskFiles task = new TaskFiles(in, files, pidfd);
            for (FdinfoEntry e : fdinfo(files, in, core, dumpedPid)) {
                FileEntry f = files.file(e.getId(), e.getFd(), in.pid());
                if (f.hasUsk() && UnixSocketRestorer.isBindTarget(f.getUsk()) && files.opened(f.getId()) == null
                        && files.socket(Integer.toUnsignedLong(f.getUsk().getIno())) == null) {
                    task.inCryo(f.getId());
                }
            }
        } catch (RuntimeException e) {
            files.abandon();
            throw e;
        }
    }

    /**
     * cryo's duplicate of file {@code id}: the one restored already, or one opened now in this task (and
     * closed there again), for the task that has it to take later. For the fds that ride in socket queues
     * and for the sockets others connect to.
     */
    Fd inCryo(int id) {
        Fd had = files.opened(id);
        if (had != null) {
            return had;
        }
        FileEntry f = files.file(id);
        if (f == null) {
            throw new RestoreError("files.img holds no file " + id);
        }
        int temp;
        try {
            temp = FileRestorer.of(f).open(this, f);
        } catch (RuntimeException x) {
            throw new RestoreError("file " + id + " (" + describe(f) + "): " + x.getMessage(), x);
        }
        try {
            files.remember(id, pull(temp));
            files.madeAhead(id);
            try (CallBatch b = new CallBatch(in)) {
                setStatusFlags(b, temp, f); // again at its first fd, with its owner; here for one no task has
                b.run();
            }
        } finally {
            in.closeFd(temp);
        }
        return files.opened(id);
    }

    /**
     * For a memfd mapping of the task (a vma_entry with VMA_AREA_MEMFD, made before the task's fds): an fd
     * in the task on the memfd that file {@code fileId} of files.img names, opened with the mapping's
     * {@code flags}, to mmap and close. The memfd is the one that every other mapping and fd of it in the
     * tree gets (see {@link MemfdRestorer}).
     */
    public static int openMemfd(Puppet in, ImageStore store, int fileId, int flags) {
        FileSet files = FileSet.shared(store);
        try (Fd pidfd = Pidfd.open(in.pid())) {
            FileEntry f = files.file(fileId);
            if (f == null || !f.hasMemfd()) {
                throw new RestoreError("a memfd mapping names file id " + fileId + ", which files.img does not hold as a memfd");
            }
            return MemfdRestorer.open(new TaskFiles(in, files, pidfd), f.getMemfd().getInodeId(), flags);
        } catch (RuntimeException e) {
            files.abandon();
            throw e;
        }
    }

    /**
     * For session leader {@code dumpedPid}, just after its setsid and before it has children: if a pty of the
     * tree controlled its session, the leader opens the slave (without O_NOCTTY: a session leader with no
     * terminal takes the one it opens) and closes it again; the children cloned after inherit it, as at dump.
     */
    public static void takeTerminal(Puppet leader, ImageStore store, int dumpedPid) {
        FileSet files = FileSet.shared(store);
        try {
            TtyInfoEntry t = Ptys.controlling(files, dumpedPid);
            if (t != null) {
                int index = t.getPty().getIndex();
                files.ptyMaster(index);
                leader.closeFd(leader.open("/dev/pts/" + index, Kernel.O_RDWR | Kernel.O_CLOEXEC, 0));
            }
        } catch (RuntimeException e) {
            files.abandon();
            throw e;
        }
    }

    /**
     * For session leader {@code dumpedPid}, once every process group exists: its terminal's foreground group
     * (TIOCSPGRP from inside the session, through a slave opened for the moment).
     */
    public static void foregroundGroup(Puppet leader, ImageStore store, int dumpedPid) {
        FileSet files = FileSet.shared(store);
        try {
            TtyInfoEntry t = Ptys.controlling(files, dumpedPid);
            if (t == null || t.getPgrp() == 0) {
                return;
            }
            int fd = leader.open("/dev/pts/" + t.getPty().getIndex(), Kernel.O_RDWR | Kernel.O_NOCTTY | Kernel.O_CLOEXEC, 0);
            try (Arena a = Arena.ofConfined(); Scratch s = leader.scratch()) {
                MemorySegment pgrp = a.allocate(ValueLayout.JAVA_INT);
                pgrp.set(ValueLayout.JAVA_INT, 0, t.getPgrp());
                leader.syscall("ioctl(TIOCSPGRP, " + t.getPgrp() + ")", Kernel.__NR_ioctl, fd, Kernel.TIOCSPGRP, s.put(pgrp));
            } finally {
                leader.closeFd(fd);
            }
        } catch (RuntimeException e) {
            files.abandon();
            throw e;
        }
    }

    /**
     * For a restore that fails after some tasks have their fds: drops cryo's copies of the files now
     * (a pipe's last writer among them) instead of when the last task is done.
     */
    public static void abandon(ImageStore store) {
        FileSet.abandonIfOpen(store);
    }

    private static void restore(Puppet in, FileSet files, int dumpedPid, CoreEntry core) {
        List<FdinfoEntry> fds = fdinfo(files, in, core, dumpedPid);
        try (Fd pidfd = Pidfd.open(in.pid())) {
            new TaskFiles(in, files, pidfd).rebuild(fds);
        }
        // Once every fd is in place: a POSIX lock goes with the first close of any fd on its file.
        for (FileLockEntry l : files.locks(dumpedPid)) {
            LockRestore.take(in, l);
        }
    }

    private static List<FdinfoEntry> fdinfo(FileSet files, Puppet in, CoreEntry core, int dumpedPid) {
        int filesId = core.hasIds() && core.getIds().hasFilesId() ? core.getIds().getFilesId() : dumpedPid;
        String image = ImageKind.FDINFO.fileName(filesId);
        if (!files.store().exists(image)) {
            throw new RestoreError("pid " + in.pid() + ": " + image + " is missing");
        }
        try (EntryReader r = files.store().openReader(ImageKind.FDINFO, filesId)) {
            return new ArrayList<>(r.readAll(FdinfoEntry.parser()));
        }
    }

    Puppet in() {
        return in;
    }

    FileSet files() {
        return files;
    }

    /** A duplicate in cryo of the task's {@code fd}: the same open file description. */
    Fd pull(int fd) {
        return Pidfd.getFd(pidfd, fd);
    }

    /**
     * Hands cryo's {@code fd} to the task, the same open file description: the task makes a socketpair,
     * cryo takes one end (pidfd_getfd) and sends the fd over it (SCM_RIGHTS), the task receives it
     * (recvmsg). This works in a new pid namespace too, where the task cannot see cryo. Returns the task's
     * new fd (the lowest free number); the socketpair is closed again.
     */
    int push(Fd fd) {
        try (Arena a = Arena.ofConfined(); Scratch s = in.scratch()) {
            long pairAt = s.reserve(8);
            in.syscall("socketpair(AF_UNIX, SOCK_DGRAM)", Kernel.__NR_socketpair, Kernel.AF_UNIX,
                    Kernel.SOCK_DGRAM | Kernel.SOCK_CLOEXEC, 0, pairAt);
            MemorySegment pair = a.allocate(8);
            s.read(pairAt, pair);
            int mine = pair.get(ValueLayout.JAVA_INT, 0);
            int theirs = pair.get(ValueLayout.JAVA_INT, 4);
            try {
                try (Fd sender = pull(theirs)) {
                    in.closeFd(theirs);
                    theirs = -1;
                    Sockets.sendFd(sender, fd.fd());
                }
                // msghdr, then its iovec, the byte, and the control buffer, in one block of scratch
                long msgAt = s.reserve(Sockets.RECV_ONE_FD_BYTES);
                in.write(msgAt, Sockets.recvOneFd(a, msgAt));
                in.syscall("recvmsg(SCM_RIGHTS)", Kernel.__NR_recvmsg, mine, msgAt, Kernel.MSG_CMSG_CLOEXEC);
                MemorySegment control = a.allocate(Sockets.CMSG_SPACE_INT, 8);
                s.read(msgAt + Sockets.RECV_ONE_FD_CONTROL, control);
                int received = Sockets.passedFd(control);
                if (received < 0) {
                    throw new RestoreError("task " + in.pid() + " received no fd over its socketpair");
                }
                return received;
            } finally {
                in.closeFd(mine);
                if (theirs >= 0) {
                    in.closeFd(theirs);
                }
            }
        }
    }

    private void rebuild(List<FdinfoEntry> fds) {
        try (CallBatch b = new CallBatch(in)) {
            for (int fd : openFds()) {
                b.add("close(" + fd + ")", Kernel.__NR_close, fd);
            }
            b.run();
        }
        if (fds.isEmpty()) {
            return;
        }
        // Files that need two free numbers at once (pipe2, socketpair, a hand-over from cryo) come first,
        // while most numbers are free; each of the rest needs one, its own number at worst.
        List<FdinfoEntry> order = new ArrayList<>(fds);
        order.sort(Comparator.comparingInt((FdinfoEntry e) -> needsTwo(e) ? 0 : 1).thenComparingInt(FdinfoEntry::getFd));
        for (FdinfoEntry e : order) {
            place(e);
        }
        for (Runnable r : finishing) {
            r.run();
        }
    }

    private boolean needsTwo(FdinfoEntry e) {
        FileEntry f = files.file(e.getId(), e.getFd(), in.pid());
        return f.getType() == dev.cryo.images.proto.FdTypes.PIPE || f.getType() == dev.cryo.images.proto.FdTypes.UNIXSK
                || f.getType() == dev.cryo.images.proto.FdTypes.MEMFD || files.opened(e.getId()) != null;
    }

    private void place(FdinfoEntry e) {
        int target = e.getFd();
        Integer already = placed.get(e.getId());
        int temp;
        FileEntry opened = null;
        if (already != null) {
            temp = already; // the same open file description, dup3'd below; never closed
        } else {
            Fd shared = files.opened(e.getId());
            if (shared != null) {
                temp = push(shared);
                if (files.claimMadeAhead(e.getId())) {
                    // made ahead (a listener others connect to, an fd that rode in a queue): its first fd
                    opened = files.file(e.getId(), target, in.pid());
                }
            } else {
                FileEntry f = files.file(e.getId(), target, in.pid());
                try {
                    temp = FileRestorer.of(f).open(this, f);
                    files.remember(e.getId(), pull(temp));
                    opened = f;
                } catch (RuntimeException x) {
                    throw new RestoreError("pid " + in.pid() + " fd " + target + " (" + describe(f) + "): " + x.getMessage(), x);
                }
            }
        }
        // The fd to its number, its owner, flags and close-on-exec: calls that need no result, for one stop.
        try (CallBatch b = new CallBatch(in)) {
            if (temp != target) {
                b.add("dup3(" + temp + ", " + target + ")", Kernel.__NR_dup3, temp, target, 0);
                if (already == null) {
                    b.add("close(" + temp + ")", Kernel.__NR_close, temp);
                }
            }
            if (opened != null) {
                // at its own number: O_ASYNC records the fd that the signal's si_fd names
                setOwner(b, target, opened);
                setStatusFlags(b, target, opened);
            }
            b.add("fcntl(" + target + ", F_SETFD)", Kernel.__NR_fcntl, target, Kernel.F_SETFD, e.getFlags());
            b.run();
        }
        if (opened != null) {
            FileEntry file = opened;
            finishing.add(() -> {
                try {
                    FileRestorer.of(file).finish(this, file, target);
                } catch (RuntimeException x) {
                    throw new RestoreError("pid " + in.pid() + " fd " + target + " (" + describe(file) + "): " + x.getMessage(), x);
                }
            });
        }
        placed.putIfAbsent(e.getId(), target);
    }

    /**
     * O_NONBLOCK, O_APPEND, O_DIRECT, O_ASYNC... of every file, whatever it was opened with: open(2) and the
     * calls that make pipes, eventfds, sockets take no O_ASYNC, and most of them no O_NONBLOCK. (Bit 0 of an
     * eventfd's flags, cryo's EFD_SEMAPHORE mark, is within O_ACCMODE, which F_SETFL ignores.)
     */
    private static void setStatusFlags(CallBatch in, int fd, FileEntry f) {
        int flags = FileKinds.flags(f);
        if (flags >= 0) {
            in.add("fcntl(" + fd + ", F_SETFL)", Kernel.__NR_fcntl, fd, Kernel.F_SETFL, flags & ~Kernel.O_ACCMODE);
        }
    }

    /** Who gets the file's SIGIO and with which signal (F_SETOWN_EX, F_SETSIG), before O_ASYNC turns it on. */
    private static void setOwner(CallBatch in, int fd, FileEntry f) {
        FownEntry o = FileKinds.owner(f);
        if (o == null) {
            return;
        }
        if (o.getPid() != 0) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment owner = FileOwner.ownerEx(a, o.getPidType(), o.getPid());
                in.add("fcntl(" + fd + ", F_SETOWN_EX, " + o.getPid() + ")", Kernel.__NR_fcntl, fd, Kernel.F_SETOWN_EX, in.put(owner));
            }
        }
        if (o.getSignum() != 0) {
            in.add("fcntl(" + fd + ", F_SETSIG, " + o.getSignum() + ")", Kernel.__NR_fcntl, fd, Kernel.F_SETSIG, o.getSignum());
        }
    }

    private static String describe(FileEntry f) {
        return switch (f.getType()) {
            case REG -> f.getReg().getName();
            case PIPE -> "pipe:[" + Integer.toUnsignedLong(f.getPipe().getPipeId()) + "]";
            case FIFO -> "fifo:[" + Integer.toUnsignedLong(f.getFifo().getPipeId()) + "]";
            case UNIXSK -> "socket:[" + Integer.toUnsignedLong(f.getUsk().getIno()) + "]";
            case INETSK -> "socket:[" + Integer.toUnsignedLong(f.getIsk().getIno()) + "]";
            case MEMFD -> "memfd inode " + f.getMemfd().getInodeId();
            default -> f.getType().toString().toLowerCase();
        };
    }

    private List<Integer> openFds() {
        try (var dir = Files.list(Path.of("/proc/" + in.pid() + "/fd"))) {
            return dir.map(p -> Integer.parseInt(p.getFileName().toString())).sorted().toList();
        } catch (IOException e) {
            throw new RestoreError("cannot list the fds of puppet " + in.pid() + ": " + e.getMessage(), e);
        }
    }
}
