package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import dev.cryo.bindings.Linux;
import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.PagemapFlags;
import dev.cryo.images.RawReader;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.MemfdFileEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Memfd;

/**
 * A memfd: memfd_create in the task with its name, then, through cryo's duplicate, its size and its
 * contents from pagemap-shmem-ID.img and the pages image, then its seals, last (a seal may forbid the
 * writes). Another open of the same memfd inode is handed the same file by cryo.
 */
final class MemfdRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        MemfdFileEntry m = file.getMemfd();
        Fd inode = task.files().memfd(m.getInodeId());
        int fd;
        if (inode != null) {
            fd = task.push(inode);
        } else {
            MemfdInodeEntry e = task.files().memfdInode(m.getInodeId());
            fd = (int) task.in().syscall("memfd_create(" + e.getName() + ")", Linux.__NR_memfd_create(),
                    task.in().putPath(e.getName()), Linux.MFD_CLOEXEC() | Linux.MFD_ALLOW_SEALING());
            Fd copy = task.pull(fd);
            task.files().rememberMemfd(m.getInodeId(), copy);
            Memfd.truncate(copy, e.getSize());
            fill(task.files().store(), e, copy);
            if (e.getSeals() != 0) {
                Memfd.addSeals(copy, e.getSeals());
            }
        }
        if (m.getPos() != 0) {
            task.in().syscall("lseek(memfd, " + m.getPos() + ")", Linux.__NR_lseek(), fd, m.getPos(), Linux.SEEK_SET());
        }
        return fd;
    }

    private static void fill(ImageStore store, MemfdInodeEntry e, Fd out) {
        if (!store.exists(ImageKind.PAGEMAP_SHMEM.fileName(e.getShmid()))) {
            return;
        }
        int pagesId;
        List<PagemapEntry> runs;
        try (EntryReader r = store.openReader(ImageKind.PAGEMAP_SHMEM, e.getShmid())) {
            PagemapHead head = r.next(PagemapHead.parser());
            if (head == null) {
                throw new IllegalStateException(ImageKind.PAGEMAP_SHMEM.fileName(e.getShmid()) + " has no head");
            }
            pagesId = head.getPagesId();
            runs = r.readAll(PagemapEntry.parser());
        }
        try (RawReader pages = store.openRawReader(ImageKind.PAGES.fileName(pagesId));
             Arena arena = Arena.ofConfined()) {
            long at = 0;
            for (PagemapEntry run : runs) {
                if ((run.getFlags() & PagemapFlags.PE_PRESENT) == 0) {
                    continue;
                }
                long len = Integer.toUnsignedLong(run.getNrPages()) * 4096;
                MemorySegment buf = arena.allocate(len);
                pages.readFully(buf, at);
                at += len;
                long keep = Math.max(0, Math.min(len, e.getSize() - run.getVaddr()));
                Memfd.pwriteFully(out, buf.asSlice(0, keep), run.getVaddr());
            }
        }
    }
}
