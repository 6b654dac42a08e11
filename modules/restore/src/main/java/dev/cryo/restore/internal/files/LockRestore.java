package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.proto.FileLockEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.FileLock;
import dev.cryo.syscalls.Kernel;

/**
 * Takes a task's dumped file locks again (filelocks.img), from inside it, once its fds are in place: flock
 * for an flock, F_SETLK for a POSIX lock (owned by the process, as at dump), F_OFD_SETLK for an OFD lock
 * (owned by the open file description). Never waits: a lock that another process holds now fails the
 * restore, naming that process where the kernel tells it.
 */
final class LockRestore {
    /** CRIU's lock kinds (criu/include/file-lock.h). */
    private static final int FL_POSIX = 1;
    private static final int FL_FLOCK = 2;
    private static final int FL_OFD = 4;

    private LockRestore() {}

    static void take(Puppet in, FileLockEntry l) {
        String what = describe(l);
        try {
            switch (l.getFlag()) {
                case FL_FLOCK -> in.syscall("flock(" + l.getFd() + ")", Kernel.__NR_flock, l.getFd(),
                        (l.getType() == Kernel.F_WRLCK ? Kernel.LOCK_EX : Kernel.LOCK_SH) | Kernel.LOCK_NB);
                case FL_POSIX -> fcntl(in, l, Kernel.F_SETLK, "F_SETLK");
                case FL_OFD -> fcntl(in, l, Kernel.F_OFD_SETLK, "F_OFD_SETLK");
                default -> throw new RestoreError("filelocks.img: fd " + l.getFd() + " holds a lock of kind "
                        + l.getFlag() + ", which cryo cannot restore");
            }
        } catch (ErrnoException e) {
            if (e.is(Errno.EAGAIN) || e.is(Errno.EACCES)) {
                throw new RestoreError("fd " + l.getFd() + ": cannot take " + what + " again: " + holder(in, l), e);
            }
            throw e;
        }
    }

    private static void fcntl(Puppet in, FileLockEntry l, int cmd, String name) {
        try (Arena a = Arena.ofConfined(); Scratch s = in.scratch()) {
            in.syscall("fcntl(" + l.getFd() + ", " + name + ")", Kernel.__NR_fcntl, l.getFd(), cmd, s.put(lock(a, l)));
        }
    }

    private static MemorySegment lock(Arena a, FileLockEntry l) {
        return new FileLock((short) l.getType(), (short) Kernel.SEEK_SET, l.getStart(), l.getLen(), 0).write(a);
    }

    /** Who holds the conflicting lock, as F_GETLK / F_OFD_GETLK tell (an flock's holder is not told). */
    private static String holder(Puppet in, FileLockEntry l) {
        if (l.getFlag() == FL_FLOCK) {
            return "another process holds a conflicting flock on the file";
        }
        try (Arena a = Arena.ofConfined(); Scratch s = in.scratch()) {
            MemorySegment f = lock(a, l);
            long at = s.put(f);
            in.syscall("fcntl(F_GETLK)", Kernel.__NR_fcntl, l.getFd(), l.getFlag() == FL_OFD ? Kernel.F_OFD_GETLK : Kernel.F_GETLK, at);
            s.read(at, f);
            int pid = FileLock.read(f).pid();
            return pid > 0 ? "pid " + pid + " holds a conflicting lock on the file" : "a conflicting lock is held on the file";
        } catch (RuntimeException e) {
            return "a conflicting lock is held on the file";
        }
    }

    private static String describe(FileLockEntry l) {
        String kind = switch (l.getFlag()) {
            case FL_FLOCK -> "its flock";
            case FL_POSIX -> "its POSIX lock";
            case FL_OFD -> "its OFD lock";
            default -> "its lock";
        };
        return kind + " (" + (l.getType() == Kernel.F_WRLCK ? "write" : "read")
                + (l.getFlag() == FL_FLOCK ? "" : ", bytes " + l.getStart() + "-" + (l.getLen() == 0 ? "EOF" : Long.toString(l.getStart() + l.getLen() - 1))) + ")";
    }
}
