package dev.cryo.restore.internal.files;

import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FifoEntry;
import dev.cryo.syscalls.Kernel;

/**
 * A FIFO, opened by its path inside the task. cryo holds the FIFO open for reading and writing first
 * ({@link FileSet#fifoKeeper}), which refills its data and keeps a blocking open from waiting for a peer.
 */
final class FifoRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        FifoEntry fifo = file.getFifo();
        FileEntry named = task.files().file(fifo.getRegfId(), -1, task.in().pid());
        String path = named.getReg().getName();
        task.files().fifoKeeper(Integer.toUnsignedLong(fifo.getPipeId()), path);
        int flags = named.getReg().getFlags() & ~(0100 | 0200 | 01000); // no O_CREAT, O_EXCL, O_TRUNC
        return task.in().open(path, flags | Kernel.O_CLOEXEC, 0);
    }
}
