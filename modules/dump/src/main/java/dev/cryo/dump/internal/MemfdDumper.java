package dev.cryo.dump.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.MemfdFileEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Pidfd;

/**
 * A memfd ("/memfd:NAME (deleted)"), opened by an fd or mapped: each open file (an fd's flags and offset,
 * or a mapping's) points at one inode entry in memfd.img (name, size, seals) whose contents go, as CRIU
 * has them, to pagemap-shmem-SHMID.img and a pages image, once however many fds and mappings share it.
 * The contents are read with pread, through a duplicate of the fd (pidfd_getfd) or an opening of the
 * mapping's /proc/PID/map_files entry (a memfd whose fd was closed after mmap has only that).
 */
record MemfdDumper(Arena arena) implements FileDumper {
    private static final String PREFIX = "/memfd:";
    private static final String DELETED = " (deleted)";
    /** The largest memfd whose contents go into the images. */
    private static final long MEMFD_MAX = 256L << 20;

    /**
     * Whether {@code path} (an fd's link, a mapping's path) is a memfd: memfd_create names its file
     * "memfd:NAME" on the kernel's internal shmem mount, where it is never linked.
     */
    static boolean isMemfd(String path) {
        return path.startsWith(PREFIX) && path.endsWith(DELETED);
    }

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        int inodeId = inode(files, arena, fd.link(), fd.procPath(), () -> Pidfd.getFd(fd.pidfd(), fd.fd()), fd.where());
        e.setType(FdTypes.MEMFD).setMemfd(MemfdFileEntry.newBuilder().setId(e.getId()).setFlags(fd.flags())
                .setPos(fd.pos()).setFown(FileTable.NO_OWNER).setInodeId(inodeId));
    }

    /**
     * The file id of memfd mapping {@code v} of {@code pid}: a memfd file entry opened {@code flags}, as
     * CRIU's vma_entry.shmid names it for a mapping with VMA_AREA_MEMFD; one per inode and open mode.
     */
    static int mappingId(FileTable files, Arena arena, int pid, Vma v, int flags) throws DumpException {
        Path file = Path.of("/proc/" + pid + "/map_files/" + Long.toHexString(v.start()) + "-" + Long.toHexString(v.end()));
        String where = "pid " + pid + " mapping 0x" + Long.toHexString(v.start());
        int inodeId = inode(files, arena, v.path(), file, () -> Io.open(file.toString(), Kernel.O_RDONLY), where);
        return files.memfdMappingId(inodeId, flags);
    }

    /**
     * The inode id of the memfd that {@code file} (a /proc link to it) reaches; its memfd.img entry and
     * contents are read the first time, through {@code open}.
     */
    private static int inode(FileTable files, Arena arena, String link, Path file, Supplier<Fd> open, String where)
            throws DumpException {
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(file, "unix:ino,uid,gid,size,mode");
        } catch (IOException x) {
            throw new DumpException("cannot stat " + where + " (" + link + "): " + x.getMessage(), x);
        }
        long ino = (long) attrs.get("ino");
        Integer known = files.memfdInode(ino);
        if (known != null) {
            return known;
        }
        int inodeId = files.nextId();
        String name = link.substring(PREFIX.length(), link.length() - DELETED.length());
        long size = (long) attrs.get("size");
        if (size > MEMFD_MAX) {
            throw new DumpException("cannot dump " + where + ": memfd " + name + " holds " + size
                    + " bytes, over the " + (MEMFD_MAX >> 20) + " MiB that cryo copies into the images");
        }
        try (Fd in = open.get()) {
            int seals = dev.cryo.syscalls.Memfd.seals(in);
            long pages = Page.count(size);
            MemorySegment data = arena.allocate(Math.max(pages * Page.SIZE, 1), Page.SIZE).asSlice(0, pages * Page.SIZE);
            for (long got = 0; got < size; ) {
                long n = Io.pread(in.fd(), data.asSlice(got, size - got), got);
                if (n == 0) {
                    break; // shrank under us: the rest stays zero
                }
                got += n;
            }
            // shmid is the inode number, as CRIU has it: memfds and shared anonymous memory live on one
            // shmem mount, so it never collides with a pagemap-shmem image of shared anonymous memory.
            files.addMemfd(ino, new FileTable.Memfd(MemfdInodeEntry.newBuilder().setName(name)
                    .setUid((int) attrs.get("uid")).setGid((int) attrs.get("gid")).setSize(size)
                    .setShmid((int) ino).setSeals(seals).setInodeId(inodeId).setMode((int) attrs.get("mode") & 07777).build(), data));
        } catch (ErrnoException x) {
            throw new DumpException("cannot read memfd " + link + " at " + where + ": " + x.getMessage(), x);
        }
        return inodeId;
    }
}
