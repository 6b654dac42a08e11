package dev.cryo.restore.internal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.restore.internal.RestoreError;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.SysvIpc;

/**
 * The SysV shared memory a task attached, attached again from inside it (shmat) to the segments that the
 * restore made in the tree's new IPC namespace, at their addresses. Consecutive mappings of one segment whose
 * offsets follow on (an attachment that mprotect split) are one shmat, as they were; each then gets its own
 * protection with the others ({@link Vmas#protect}). An attachment of part of a segment (the rest unmapped) is
 * attached whole elsewhere, its part moved into place with mremap and the rest unmapped.
 */
final class SysvAttachments {
    private SysvAttachments() {}

    static boolean isSysv(VmaEntry v) {
        return (v.getStatus() & VmaStatus.VMA_AREA_SYSVIPC) != 0;
    }

    /** Attaches every SysV mapping of {@code mm} but those {@code kept} from the parent (fork copied them). */
    static void attach(Puppet p, MmEntry mm, List<VmaEntry> kept) {
        List<VmaEntry> run = new ArrayList<>();
        for (VmaEntry v : mm.getVmasList()) {
            boolean mine = isSysv(v) && !kept.contains(v);
            if (!run.isEmpty() && !(mine && follows(run.getLast(), v))) {
                attachRun(p, run);
                run.clear();
            }
            if (mine) {
                run.add(v);
            }
        }
        if (!run.isEmpty()) {
            attachRun(p, run);
        }
    }

    /** {@code b} continues the attachment {@code a} is part of: adjacent, same segment, offsets that follow on. */
    private static boolean follows(VmaEntry a, VmaEntry b) {
        return a.getEnd() == b.getStart() && a.getShmid() == b.getShmid() && b.getPgoff() != 0
                && b.getPgoff() == a.getPgoff() + (a.getEnd() - a.getStart());
    }

    private static void attachRun(Puppet p, List<VmaEntry> run) {
        VmaEntry first = run.getFirst();
        int shmid = (int) first.getShmid();
        long start = first.getStart();
        long length = run.getLast().getEnd() - start;
        long offset = first.getPgoff();
        // Attached read-only unless a part was writable (CRIU guesses the same way: the maps do not say how shmat was called).
        boolean writable = run.stream().anyMatch(v -> (v.getProt() & Kernel.PROT_WRITE) != 0);
        boolean exec = run.stream().anyMatch(v -> (v.getProt() & Kernel.PROT_EXEC) != 0);
        int flags = (writable ? 0 : Kernel.SHM_RDONLY) | (exec ? Kernel.SHM_EXEC : 0);
        long whole = pages(segmentSize(p, shmid));
        String what = "shmat(" + shmid + " at 0x" + Long.toHexString(start) + ")";
        if (offset == 0 && length == whole) {
            long at = p.syscall(what, Kernel.__NR_shmat, shmid, start, flags | Kernel.SHM_REMAP);
            if (at != start) {
                throw new RestoreError(what + " attached the segment at 0x" + Long.toHexString(at) + " instead");
            }
            return;
        }
        // Part of the segment: attach it whole where the kernel likes, move the part, drop the rest.
        long base = p.syscall("shmat(" + shmid + ")", Kernel.__NR_shmat, shmid, 0, flags);
        p.syscall("mremap(segment " + shmid + " part to 0x" + Long.toHexString(start) + ")", Kernel.__NR_mremap,
                base + offset, length, length, Kernel.MREMAP_MAYMOVE | Kernel.MREMAP_FIXED, start);
        p.syscall("munmap(rest of segment " + shmid + ")", Kernel.__NR_munmap, base, whole);
    }

    /** The segment's size, asked from inside the task (its namespace is the restored one). */
    private static long segmentSize(Puppet p, int shmid) {
        try (Scratch s = p.scratch(); Arena a = Arena.ofConfined()) {
            long ds = s.reserve(SysvIpc.SHMID_DS_SIZE);
            p.syscall("shmctl(" + shmid + ", IPC_STAT)", Kernel.__NR_shmctl, shmid, Kernel.IPC_STAT, ds);
            MemorySegment local = a.allocate(SysvIpc.SHMID_DS_SIZE, 8);
            s.read(ds, local);
            return SysvIpc.segmentSize(local);
        }
    }

    private static long pages(long bytes) {
        return (bytes + Page.SIZE - 1) / Page.SIZE * Page.SIZE;
    }
}
