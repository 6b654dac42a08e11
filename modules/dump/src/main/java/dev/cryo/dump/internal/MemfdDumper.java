package dev.cryo.dump.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.util.Map;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.MemfdFileEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Pidfd;

/**
 * A memfd ("/memfd:NAME (deleted)"): its open file (flags, offset) points at an inode entry in
 * memfd.img (name, size, seals) whose contents go, as CRIU has them, to pagemap-shmem-ID.img and a
 * pages image. Read through a duplicate of the fd (pidfd_getfd) with pread, so the offset is untouched.
 */
record MemfdDumper(Arena arena) implements FileDumper {
    private static final String PREFIX = "/memfd:";
    private static final String DELETED = " (deleted)";
    /** The largest memfd whose contents go into the images. */
    private static final long MEMFD_MAX = 256L << 20;

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(fd.procPath(), "unix:ino,uid,gid,size");
        } catch (IOException x) {
            throw new DumpException("cannot stat " + fd.where() + " (" + fd.link() + "): " + x.getMessage(), x);
        }
        long ino = (long) attrs.get("ino");
        Integer inodeId = files.memfdInode(ino);
        if (inodeId == null) {
            inodeId = files.nextId();
            String name = fd.link().substring(PREFIX.length());
            if (name.endsWith(DELETED)) {
                name = name.substring(0, name.length() - DELETED.length());
            }
            long size = (long) attrs.get("size");
            if (size > MEMFD_MAX) {
                throw new DumpException("cannot dump " + fd.where() + ": memfd " + name + " holds " + size
                        + " bytes, over the " + (MEMFD_MAX >> 20) + " MiB that cryo copies into the images");
            }
            try (Fd dup = Pidfd.getFd(fd.pidfd(), fd.fd())) {
                int seals = dev.cryo.syscalls.Memfd.seals(dup);
                long pages = (size + 4095) / 4096;
                MemorySegment data = arena.allocate(Math.max(pages * 4096, 1), 4096).asSlice(0, pages * 4096);
                for (long got = 0; got < size; ) {
                    long n = Io.pread(dup.fd(), data.asSlice(got, size - got), got);
                    if (n == 0) {
                        break; // shrank under us: the rest stays zero
                    }
                    got += n;
                }
                files.addMemfd(ino, new FileTable.Memfd(MemfdInodeEntry.newBuilder().setName(name)
                        .setUid((int) attrs.get("uid")).setGid((int) attrs.get("gid")).setSize(size)
                        .setShmid(inodeId).setSeals(seals).setInodeId(inodeId).build(), data));
            } catch (ErrnoException x) {
                throw new DumpException("cannot read memfd " + fd.link() + " at " + fd.where() + ": " + x.getMessage(), x);
            }
        }
        e.setType(FdTypes.MEMFD).setMemfd(MemfdFileEntry.newBuilder().setId(e.getId()).setFlags(fd.flags())
                .setPos(fd.pos()).setFown(FileTable.NO_OWNER).setInodeId(inodeId));
    }
}
