package dev.cryo.restore.internal.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.cryo.images.Inheritance;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.parasite.Parasite;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.restore.internal.RestoreError;
import dev.cryo.syscalls.Kernel;

/**
 * The dumped mappings, made again in a puppet: mapped at their addresses (writable until their pages are
 * in; SysV segments attached, {@link SysvAttachments}), then given their dumped protection, advice and lock.
 */
final class Vmas {
    private Vmas() {}

    /** Opens, inside the task, the memfd that a mapping names (its file id) with the mapping's open flags. */
    @FunctionalInterface
    interface MemfdOpener {
        int open(int fileId, int flags);
    }

    /**
     * Readies the kept (inherited) private mappings for the child's own pages: writable until protect().
     */
    static void prepareKept(Puppet p, List<VmaEntry> kept) {
        for (VmaEntry v : kept) {
            if (Inheritance.isAnonShared(v)) {
                continue; // the parent's: same pages, nothing of the child's own to fill
            }
            // Writable until protect(). A page the child's pagemap lacks here is the parent's (see Inheritance):
            // the inherited one stays; the dump wrote the child a zero page where it had none and the parent had.
            p.syscall("mprotect(0x" + Long.toHexString(v.getStart()) + ")", Kernel.__NR_mprotect,
                    v.getStart(), v.getEnd() - v.getStart(), v.getProt() | Kernel.PROT_WRITE);
        }
    }

    /**
     * Maps every dumped VMA but the vDSO group, writable until its pages are in. A file is opened by its
     * path; a memfd, which has none, is opened from the restore's own memfd ({@code memfds}).
     */
    static void map(Puppet p, MmEntry mm, Map<Integer, String> paths, List<VmaEntry> kept, MemfdOpener memfds) {
        // Anonymous mappings go in batches, many for one stop of the puppet; a file's needs its open first.
        List<Parasite.Call> anonymous = new ArrayList<>();
        for (VmaEntry v : mm.getVmasList()) {
            int status = v.getStatus();
            if (kept.contains(v)) {
                continue;
            }
            if ((status & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR | VmaStatus.VMA_AREA_VSYSCALL)) != 0
                    || SysvAttachments.isSysv(v)) {
                continue; // SysV segments: attached below, once the rest is in place
            }
            if ((status & VmaStatus.VMA_AREA_REGULAR) == 0) {
                throw new RestoreError("mapping 0x" + Long.toHexString(v.getStart()) + " has status 0x"
                        + Integer.toHexString(status) + ", which restore does not handle yet");
            }
            long len = v.getEnd() - v.getStart();
            int prot = v.getProt() | Kernel.PROT_WRITE;
            int flags = (v.getFlags() & (Kernel.MAP_SHARED | Kernel.MAP_PRIVATE | Kernel.MAP_ANONYMOUS
                    | Kernel.MAP_NORESERVE | Kernel.MAP_GROWSDOWN)) | Kernel.MAP_FIXED;
            if ((status & (VmaStatus.VMA_FILE_PRIVATE | VmaStatus.VMA_FILE_SHARED)) != 0) {
                p.batch(anonymous);
                anonymous.clear();
                boolean memfd = (status & VmaStatus.VMA_AREA_MEMFD) != 0;
                String path = memfd ? "memfd file " + v.getShmid() : paths.get((int) v.getShmid());
                if (path == null) {
                    throw new RestoreError("mapping 0x" + Long.toHexString(v.getStart()) + " names file id "
                            + v.getShmid() + ", which files.img does not hold");
                }
                boolean shared = (status & VmaStatus.VMA_FILE_SHARED) != 0;
                if (shared) {
                    prot = v.getProt(); // a shared file mapping has no private pages to fill
                }
                int fdflags = v.hasFdflags() ? v.getFdflags() : Kernel.O_RDONLY;
                int fd = memfd ? memfds.open((int) v.getShmid(), fdflags) : p.open(path, fdflags | Kernel.O_CLOEXEC, 0);
                try {
                    p.syscall("mmap(" + path + ")", Kernel.__NR_mmap, v.getStart(), len, prot, flags & ~Kernel.MAP_ANONYMOUS, fd, v.getPgoff());
                } finally {
                    p.closeFd(fd);
                }
            } else {
                anonymous.add(new Parasite.Call("mmap(anonymous 0x" + Long.toHexString(v.getStart()) + ")", Kernel.__NR_mmap,
                        v.getStart(), len, prot, flags | Kernel.MAP_ANONYMOUS, -1, 0));
            }
        }
        p.batch(anonymous);
        SysvAttachments.attach(p, mm, kept);
    }

    /** Gives every mapping its dumped protection (they were writable while being filled). */
    static void protect(Puppet p, MmEntry mm) {
        List<Parasite.Call> calls = new ArrayList<>();
        for (VmaEntry v : mm.getVmasList()) {
            if ((v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR)) != 0) {
                continue;
            }
            calls.add(new Parasite.Call("mprotect(0x" + Long.toHexString(v.getStart()) + ")", Kernel.__NR_mprotect,
                    v.getStart(), v.getEnd() - v.getStart(), v.getProt()));
        }
        p.batch(calls);
    }

    /**
     * mlock()s again what was locked at dump (MAP_LOCKED in the entry, VM_LOCKED in the kernel), once its
     * pages are in: the puppet may lock any amount (CAP_IPC_LOCK), and the lock outlives the credentials the
     * task gets later, as it did in the original.
     */
    static void lock(Puppet p, MmEntry mm) {
        List<Parasite.Call> calls = new ArrayList<>();
        for (VmaEntry v : mm.getVmasList()) {
            if ((v.getFlags() & Kernel.MAP_LOCKED) != 0) {
                calls.add(new Parasite.Call("mlock(0x" + Long.toHexString(v.getStart()) + ")", Kernel.__NR_mlock,
                        v.getStart(), v.getEnd() - v.getStart()));
            }
        }
        p.batch(calls);
    }

    /** Gives every mapping the madvise() advice it had at dump (huge pages, don't fork, ...): bit n is advice n. */
    static void advise(Puppet p, MmEntry mm) {
        List<Parasite.Call> calls = new ArrayList<>();
        for (VmaEntry v : mm.getVmasList()) {
            if ((v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR)) != 0) {
                continue; // the kernel's own mappings carry their advice already
            }
            long madv = v.getMadv();
            for (int advice = 0; madv != 0 && advice < 64; advice++) {
                if ((madv & (1L << advice)) != 0) {
                    calls.add(new Parasite.Call("madvise(0x" + Long.toHexString(v.getStart()) + ", " + advice + ")",
                            Kernel.__NR_madvise, v.getStart(), v.getEnd() - v.getStart(), advice));
                    madv &= ~(1L << advice);
                }
            }
        }
        p.batch(calls);
    }
}
