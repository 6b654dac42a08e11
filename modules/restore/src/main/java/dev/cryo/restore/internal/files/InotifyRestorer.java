package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Comparator;
import java.util.List;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.InotifyWdEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * An inotify instance with its watches, each on the path found at dump, with its mask and its own watch
 * number. The kernel numbers watches upwards from the last one it gave (cyclically), so a watch that comes
 * out below its number is removed and added again until it gets it, in increasing order, as CRIU does; the
 * IN_IGNORED events those removals queue are read away (through cryo's duplicate) before the task runs.
 */
final class InotifyRestorer implements FileRestorer {
    /** A watch number far ahead of the dumped one is not reached by re-adding: give up. */
    private static final int MAX_TRIES = 1 << 16;

    @Override
    public int open(TaskFiles task, FileEntry file) {
        int fd = (int) task.in().syscall("inotify_init1", Kernel.__NR_inotify_init1, Kernel.IN_CLOEXEC);
        List<InotifyWdEntry> watches = file.getIfy().getWdList().stream().sorted(Comparator.comparingInt(InotifyWdEntry::getWd)).toList();
        boolean removed = false;
        for (InotifyWdEntry w : watches) {
            String path = w.getFHandle().getPath();
            if (path.isEmpty()) {
                throw new RestoreError("inotify watch " + w.getWd() + " has no path (on inode " + w.getIIno() + ")");
            }
            for (int tries = 0; ; tries++) {
                long got;
                try (Scratch s = task.in().scratch()) {
                    got = task.in().syscall("inotify_add_watch(" + path + ")", Kernel.__NR_inotify_add_watch, fd, s.putString(path), w.getMask());
                }
                if (got == w.getWd()) {
                    break;
                }
                if (got > w.getWd() || tries == MAX_TRIES) {
                    throw new RestoreError("inotify watch on " + path + " came out as number " + got + ", not " + w.getWd());
                }
                task.in().syscall("inotify_rm_watch(" + got + ")", Kernel.__NR_inotify_rm_watch, fd, got);
                removed = true;
            }
        }
        if (removed) {
            drain(task.pull(fd));
        }
        return fd;
    }

    /** Reads the queued events (FIONREAD tells how many bytes, so the read never blocks). */
    private static void drain(Fd copy) {
        try (copy; Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            Io.ioctl("FIONREAD", copy.fd(), Kernel.FIONREAD, n.address());
            int queued = n.get(ValueLayout.JAVA_INT, 0);
            if (queued > 0) {
                Io.read(copy.fd(), a.allocate(queued));
            }
        }
    }
}
