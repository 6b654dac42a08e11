package dev.cryo.dump.internal;

import java.lang.foreign.Arena;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.PipeEntry;

/** One end of a pipe: pipe id (its inode) and flags; its data once per pipe, into pipes-data.img. */
record PipeDumper(Arena arena) implements FileDumper {
    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        long ino = fd.linkInode();
        e.setType(FdTypes.PIPE).setPipe(PipeEntry.newBuilder().setId(e.getId()).setPipeId((int) ino)
                .setFlags(fd.flags()).setFown(FileTable.NO_OWNER));
        if (!files.hasPipeData(ino)) {
            files.addPipeData(PipeContents.read(fd, ino, arena));
        }
    }
}
