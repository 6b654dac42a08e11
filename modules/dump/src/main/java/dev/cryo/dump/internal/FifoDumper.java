package dev.cryo.dump.internal;

import java.lang.foreign.Arena;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FifoEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.RegFileEntry;

/**
 * A FIFO: a file entry for its path and flags (regf_id), the FIFO entry with its inode as pipe id, and
 * its data once per FIFO into fifo-data.img.
 */
record FifoDumper(Arena arena, long ino) implements FileDumper {
    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        int regId = files.nextId();
        files.add(FileEntry.newBuilder().setType(FdTypes.REG).setId(regId)
                .setReg(RegFileEntry.newBuilder().setId(regId).setFlags(fd.flags()).setPos(0)
                        .setFown(FileTable.NO_OWNER).setName(fd.link()))
                .build());
        e.setType(FdTypes.FIFO).setFifo(FifoEntry.newBuilder().setId(e.getId()).setPipeId((int) ino).setRegfId(regId));
        if (!files.hasFifoData(ino)) {
            files.addFifoData(PipeContents.read(fd, ino, arena));
        }
    }
}
