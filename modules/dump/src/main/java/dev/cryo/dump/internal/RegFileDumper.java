package dev.cryo.dump.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.util.Map;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.GhostFileEntry;
import dev.cryo.images.proto.RegFileEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * A file known by its path: regular file, directory, character device, terminal; flags (O_APPEND,
 * O_DIRECT, O_SYNC...) and offset as fdinfo has them. An unlinked regular file ("... (deleted)") has its
 * contents copied through /proc/PID/fd/N into ghost-file-ID.img (ID: its file id), to be re-created.
 */
record RegFileDumper(Arena arena) implements FileDumper {
    private static final String DELETED = " (deleted)";
    /** The largest unlinked file whose contents go into the images. */
    private static final long GHOST_MAX = 64L << 20;

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        String name = fd.link();
        RegFileEntry.Builder reg = RegFileEntry.newBuilder().setId(e.getId()).setFlags(fd.flags()).setPos(fd.pos())
                .setFown(FileTable.NO_OWNER);
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(fd.procPath(), "unix:mode,uid,gid,size");
        } catch (IOException x) {
            throw new DumpException("cannot stat " + fd.where() + " (" + name + "): " + x.getMessage(), x);
        }
        int mode = (int) attrs.get("mode");
        boolean regular = (mode & 0170000) == 0100000;
        if (regular) {
            reg.setSize((long) attrs.get("size")).setMode(mode);
        }
        if (name.endsWith(DELETED) && !Files.exists(java.nio.file.Path.of(name))) {
            if (!regular) {
                throw new DumpException("cannot dump " + fd.where() + ": " + name + " is unlinked and not a regular file");
            }
            name = name.substring(0, name.length() - DELETED.length());
            files.addGhost(new FileTable.Ghost(e.getId(), GhostFileEntry.newBuilder().setUid((int) attrs.get("uid"))
                    .setGid((int) attrs.get("gid")).setMode(mode).setSize((long) attrs.get("size")).build(),
                    contents(fd, (long) attrs.get("size"))));
        }
        e.setType(FdTypes.REG).setReg(reg.setName(name));
    }

    private MemorySegment contents(OpenFd fd, long size) throws DumpException {
        if (size > GHOST_MAX) {
            throw new DumpException("cannot dump " + fd.where() + ": unlinked file " + fd.link() + " holds " + size
                    + " bytes, over the " + (GHOST_MAX >> 20) + " MiB that cryo copies into the images");
        }
        MemorySegment data = arena.allocate(Math.max(size, 1)).asSlice(0, size);
        try (Fd in = Io.open(fd.procPath().toString(), Kernel.O_RDONLY)) {
            long got = 0;
            while (got < size) {
                long n = Io.pread(in.fd(), data.asSlice(got), got);
                if (n == 0) {
                    throw new DumpException("cannot dump " + fd.where() + ": unlinked file " + fd.link()
                            + " shrank to " + got + " bytes while read");
                }
                got += n;
            }
            return data;
        } catch (ErrnoException x) {
            throw new DumpException("cannot read unlinked file " + fd.link() + " at " + fd.where() + ": " + x.getMessage(), x);
        }
    }
}
