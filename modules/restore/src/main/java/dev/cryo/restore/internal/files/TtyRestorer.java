package dev.cryo.restore.internal.files;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.TtyFileEntry;
import dev.cryo.images.proto.TtyInfoEntry;
import dev.cryo.syscalls.Kernel;

/**
 * One end of a pty of the tree: the master is cryo's (made at its index, see {@link Ptys}) handed to the
 * task; a slave is opened by the task at /dev/pts/N, never as its controlling terminal here (that is given to
 * the session leader when it is created, so that its children inherit it, see {@link TaskFiles#takeTerminal}).
 */
final class TtyRestorer implements FileRestorer {
    /** Flags that made sense when the file was created, and would change it now. */
    private static final int CREATION = 0100 | 0200 | 01000; // O_CREAT | O_EXCL | O_TRUNC

    @Override
    public int open(TaskFiles task, FileEntry file) {
        TtyFileEntry tty = file.getTty();
        TtyInfoEntry info = task.files().ttyInfo(tty.getTtyInfoId());
        if (!info.hasPty()) {
            throw new RestoreError("terminal " + info.getId() + " is of type " + info.getType() + ", which cryo cannot restore");
        }
        int index = info.getPty().getIndex();
        if ((info.getId() & 1) == 1) {
            return task.push(task.files().ptyMaster(index));
        }
        task.files().ptyMaster(index); // the slave exists once its master does
        int flags = (tty.getFlags() & ~CREATION) | Kernel.O_NOCTTY | Kernel.O_CLOEXEC;
        return task.in().open("/dev/pts/" + index, flags, 0);
    }
}
