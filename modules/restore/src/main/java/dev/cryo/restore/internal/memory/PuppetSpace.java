package dev.cryo.restore.internal.memory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import dev.cryo.images.proto.VmaEntry;
import dev.cryo.parasite.Parasite;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.restore.internal.RestoreError;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.ProcMaps;

/** The puppet's own address space: where the restorer's trampoline can go, and clearing the stub's mappings. */
public final class PuppetSpace {
    private static final long TASK_TOP = 0x7ffffffff000L;
    private static final long SEARCH_FROM = 0x100000;

    private PuppetSpace() {}

    /**
     * An address for {@code size} bytes that neither the dumped task nor the puppet uses: the trampoline
     * (and the vDSO's waiting room after it) must survive every unmap and map of the restore.
     */
    public static long freeArea(List<VmaEntry> dumped, List<ProcMaps.Mapping> puppet, long size) {
        List<long[]> used = new ArrayList<>();
        dumped.forEach(v -> used.add(new long[] {v.getStart(), v.getEnd()}));
        puppet.forEach(m -> used.add(new long[] {m.start(), m.end()}));
        used.sort(Comparator.comparingLong(a -> a[0]));
        long at = SEARCH_FROM;
        for (long[] u : used) {
            if (at + size <= u[0]) {
                return at;
            }
            at = Math.max(at, u[1]);
        }
        if (at + size <= TASK_TOP) {
            return at;
        }
        throw new RestoreError("no free address range of " + size + " bytes for the restorer's trampoline");
    }

    /** Unmaps everything of the puppet but the trampoline, the parked vDSO group and the {@code kept} ranges. */
    static void clear(Puppet p, long keepFrom, long keepTo, List<VmaEntry> kept) {
        List<long[]> keep = new ArrayList<>();
        keep.add(new long[] {keepFrom, keepTo});
        kept.forEach(v -> keep.add(new long[] {v.getStart(), v.getEnd()}));
        keep.sort(Comparator.comparingLong(k -> k[0]));
        List<Parasite.Call> calls = new ArrayList<>();
        for (ProcMaps.Mapping m : ProcMaps.of(p.pid())) {
            if (m.name().equals("[vsyscall]")) {
                continue;
            }
            long at = m.start();
            for (long[] k : keep) {
                if (k[1] <= at || k[0] >= m.end()) {
                    continue;
                }
                if (k[0] > at) {
                    calls.add(new Parasite.Call("munmap(" + m.name() + ")", Kernel.__NR_munmap, at, k[0] - at));
                }
                at = Math.max(at, k[1]);
            }
            if (at < m.end()) {
                calls.add(new Parasite.Call("munmap(" + m.name() + ")", Kernel.__NR_munmap, at, m.end() - at));
            }
        }
        p.batch(calls);
    }
}
