package dev.cryo.restore.internal.files;

import dev.cryo.parasite.Scratch;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.MemfdFileEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Memfd;

/**
 * A memfd, for an fd or a mapping. Its inode is created once per restore, by the first task that opens or
 * maps it: memfd_create in the task with its name, then, through cryo's duplicate, its size and its
 * contents from pagemap-shmem-SHMID.img and the pages image (a {@link PageSource}, as every page). Every
 * open of it (an fd, a mapping) gets an open file description of its own on that inode, reopened through
 * /proc with its access mode as CRIU does, so fds and mappings of one memfd stay one object. Seals come last, once every task has its
 * mappings and fds ({@link FileSet#sealMemfds}): F_SEAL_WRITE and F_SEAL_FUTURE_WRITE forbid writable
 * mappings, and any write seal the filling.
 */
final class MemfdRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        MemfdFileEntry m = file.getMemfd();
        int fd = open(task, m.getInodeId(), m.getFlags());
        if (m.getPos() != 0) {
            task.in().syscall("lseek(memfd, " + m.getPos() + ")", Kernel.__NR_lseek, fd, m.getPos(), Kernel.SEEK_SET);
        }
        return fd;
    }

    /**
     * A new open file description in the task, at its lowest free number, on memfd inode {@code inodeId},
     * with the access mode of {@code flags}. Needs two free numbers at most.
     */
    static int open(TaskFiles task, int inodeId, int flags) {
        Fd inode = task.files().memfd(inodeId);
        if (inode == null) {
            MemfdInodeEntry e = task.files().memfdInode(inodeId);
            int fd;
            try (Scratch s = task.in().scratch()) {
                fd = (int) task.in().syscall("memfd_create(" + e.getName() + ")", Kernel.__NR_memfd_create,
                        s.putString(e.getName()), Kernel.MFD_CLOEXEC | Kernel.MFD_ALLOW_SEALING);
            }
            inode = task.pull(fd);
            task.files().rememberMemfd(inodeId, inode);
            Memfd.truncate(inode, e.getSize());
            fill(task.files().store(), e, inode);
            // the puppet made it as root, 0777: the dumped owner and mode
            Io.fchown(inode, e.getUid(), e.getGid());
            if (e.hasMode()) {
                Io.fchmod(inode, e.getMode());
            }
            if ((flags & Kernel.O_ACCMODE) == Kernel.O_RDWR) {
                return fd; // memfd_create's own description is O_RDWR
            }
            task.in().closeFd(fd); // cryo's duplicate keeps the inode
        }
        try (Fd reopened = Io.open("/proc/self/fd/" + inode.fd(), flags & Kernel.O_ACCMODE)) {
            return task.push(reopened);
        }
    }

    /** The memfd's contents, from its pages ({@code pagemap-shmem-SHMID.img}) through a {@link PageSource}. */
    private static void fill(ImageStore store, MemfdInodeEntry e, Fd out) {
        long shmid = Integer.toUnsignedLong(e.getShmid());
        if (!store.exists(ImageKind.PAGEMAP_SHMEM.fileName(shmid))) {
            return;
        }
        try (PageSource src = PageSource.open(store, PagemapType.SHARED, shmid)) {
            for (PageSource.Extent x : src.extents()) {
                long keep = Math.max(0, Math.min(x.bytes(), e.getSize() - x.vaddr()));
                if (keep > 0) {
                    Memfd.pwriteFully(out, src.bytes(x).asSlice(0, keep), x.vaddr());
                }
            }
        }
    }
}
