package dev.cryo.restore.internal.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.cryo.images.Inheritance;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.parasite.Parasite;
import dev.cryo.restore.internal.CallBatch;
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
     *
     * <p>The mappings go in batches, many for one stop of the puppet ({@link CallBatch}), a file's with its
     * open and close: open(2) gives the lowest free number, known before (the puppet's fd table is cryo's to
     * see and nothing else opens fds in it), so its mmap and close name that number. A memfd's mapping, whose
     * fd comes from cryo, ends a batch.
     */
    static void map(Puppet p, MmEntry mm, Map<Integer, String> paths, List<VmaEntry> kept, MemfdOpener memfds) {
        int free = lowestFreeFd(p.pid());
        CallBatch b = new CallBatch(p);
        try {
            List<String> opened = new ArrayList<>(); // the files opened in the batch, in order, to check their numbers
            List<Integer> at = new ArrayList<>();    // where their openat is among the batch's calls
            int calls = 0;
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
                if ((status & (VmaStatus.VMA_FILE_PRIVATE | VmaStatus.VMA_FILE_SHARED)) == 0) {
                    b.add("mmap(anonymous 0x" + Long.toHexString(v.getStart()) + ")", Kernel.__NR_mmap,
                            v.getStart(), len, prot, flags | Kernel.MAP_ANONYMOUS, -1, 0);
                    calls++;
                    continue;
                }
                boolean memfd = (status & VmaStatus.VMA_AREA_MEMFD) != 0;
                String path = memfd ? "memfd file " + v.getShmid() : paths.get((int) v.getShmid());
                if (path == null) {
                    throw new RestoreError("mapping 0x" + Long.toHexString(v.getStart()) + " names file id "
                            + v.getShmid() + ", which files.img does not hold");
                }
                if ((status & VmaStatus.VMA_FILE_SHARED) != 0) {
                    prot = v.getProt(); // a shared file mapping has no private pages to fill
                }
                int fdflags = v.hasFdflags() ? v.getFdflags() : Kernel.O_RDONLY;
                if (memfd) {
                    runChecked(b, opened, at, free);
                    calls = 0;
                    b.close(); // the memfd's hand-over uses the scratch memory
                    int fd = memfds.open((int) v.getShmid(), fdflags);
                    try {
                        p.syscall("mmap(" + path + ")", Kernel.__NR_mmap, v.getStart(), len, prot, flags & ~Kernel.MAP_ANONYMOUS, fd, v.getPgoff());
                    } finally {
                        p.closeFd(fd);
                    }
                    b = new CallBatch(p);
                    continue;
                }
                opened.add(path);
                at.add(calls);
                b.add("openat(" + path + ")", Kernel.__NR_openat, Kernel.AT_FDCWD, b.putString(path), fdflags | Kernel.O_CLOEXEC, 0);
                b.add("mmap(" + path + ")", Kernel.__NR_mmap, v.getStart(), len, prot, flags & ~Kernel.MAP_ANONYMOUS, free, v.getPgoff());
                b.add("close(" + free + ")", Kernel.__NR_close, free);
                calls += 3;
            }
            runChecked(b, opened, at, free);
        } finally {
            b.close();
        }
        SysvAttachments.attach(p, mm, kept);
    }

    /** Runs the batch and checks that each file opened in it took number {@code free}, as its mmap and close assumed. */
    private static void runChecked(CallBatch b, List<String> opened, List<Integer> at, int free) {
        long[] r = b.run();
        for (int i = 0; i < opened.size(); i++) {
            if (r[at.get(i)] != free) {
                throw new RestoreError("opening " + opened.get(i) + " gave fd " + r[at.get(i)] + ", not the lowest free one, " + free);
            }
        }
        opened.clear();
        at.clear();
    }

    /** The lowest fd number that process {@code pid} does not use. */
    private static int lowestFreeFd(int pid) {
        java.util.BitSet used = new java.util.BitSet();
        try (var dir = java.nio.file.Files.list(java.nio.file.Path.of("/proc", Integer.toString(pid), "fd"))) {
            dir.forEach(f -> used.set(Integer.parseInt(f.getFileName().toString())));
        } catch (java.io.IOException e) {
            throw new RestoreError("cannot list the fds of puppet " + pid + ": " + e.getMessage(), e);
        }
        return used.nextClearBit(0);
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
