package dev.cryo.restore.internal.files;

import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.RegFileEntry;
import dev.cryo.syscalls.Kernel;

/**
 * A file opened by path: a regular file, a directory, a character device, a terminal. Opened inside the
 * task with its dumped flags (O_APPEND, O_DIRECT, O_SYNC... kept), then moved to its dumped offset. An
 * unlinked file comes back from its ghost image: see {@link GhostFile}.
 */
final class RegFileRestorer implements FileRestorer {
    /** Flags that made sense when the file was created, and would change it now. */
    private static final int CREATION = 0100 | 0200 | 01000; // O_CREAT | O_EXCL | O_TRUNC

    @Override
    public int open(TaskFiles task, FileEntry file) {
        RegFileEntry reg = file.getReg();
        String path = reg.getName().startsWith("/") ? reg.getName() : "/" + reg.getName();
        int flags = (reg.getFlags() & ~CREATION) | Kernel.O_CLOEXEC;
        if (task.files().store().exists(ImageKind.GHOST_FILE.fileName(file.getId()))) {
            try (GhostFile ghost = GhostFile.create(task.files().store(), file.getId(), path)) {
                return seek(task, task.in().open(ghost.path(), flags, 0), reg);
            }
        }
        return seek(task, task.in().open(path, flags, 0), reg);
    }

    private static int seek(TaskFiles task, int fd, RegFileEntry reg) {
        if (reg.getPos() != 0) {
            task.in().syscall("lseek(" + reg.getName() + ", " + reg.getPos() + ")", Kernel.__NR_lseek, fd, reg.getPos(), Kernel.SEEK_SET);
        }
        return fd;
    }
}
