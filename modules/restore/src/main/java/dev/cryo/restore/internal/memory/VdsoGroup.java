package dev.cryo.restore.internal.memory;

import java.util.List;

import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.restore.internal.RestoreError;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.ProcMaps;

/**
 * The kernel's vDSO group of a puppet ({@code [vvar]}, {@code [vvar_vclock]}, {@code [vdso]}): parked out of
 * the way while the dumped mappings go in, then moved, keeping its layout, to where the dump had it.
 */
public final class VdsoGroup {
    private VdsoGroup() {}

    static boolean isVdsoGroup(ProcMaps.Mapping m) {
        return m.name().equals("[vdso]") || m.name().equals("[vvar]") || m.name().equals("[vvar_vclock]");
    }

    /** The span of the puppet's vDSO group, from its first piece to the end of its last. */
    public static long span(List<ProcMaps.Mapping> puppet) {
        List<ProcMaps.Mapping> g = puppet.stream().filter(VdsoGroup::isVdsoGroup).toList();
        return g.isEmpty() ? 0 : g.getLast().end() - g.getFirst().start();
    }

    /** Moves the puppet's vDSO group to {@code to}, keeping its layout. */
    static void park(Puppet p, List<ProcMaps.Mapping> puppet, long to) {
        List<ProcMaps.Mapping> g = puppet.stream().filter(VdsoGroup::isVdsoGroup).toList();
        if (g.isEmpty()) {
            return;
        }
        long base = g.getFirst().start();
        for (ProcMaps.Mapping m : g) {
            remap(p, m.start(), m.size(), to + (m.start() - base));
        }
    }

    /** Moves the parked vDSO group to the dumped addresses; its pieces must match the dump's. */
    static void place(Puppet p, MmEntry mm, List<ProcMaps.Mapping> puppet, long parkedAt) {
        List<ProcMaps.Mapping> g = puppet.stream().filter(VdsoGroup::isVdsoGroup).toList();
        List<VmaEntry> dumped = mm.getVmasList().stream()
                .filter(v -> (v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR)) != 0).toList();
        if (dumped.isEmpty()) {
            return;
        }
        boolean same = g.size() == dumped.size();
        for (int i = 0; same && i < g.size(); i++) {
            same = g.get(i).size() == dumped.get(i).getEnd() - dumped.get(i).getStart()
                    && g.get(i).start() - g.getFirst().start() == dumped.get(i).getStart() - dumped.getFirst().getStart();
        }
        if (!same) {
            throw new RestoreError("this kernel's vDSO/vvar layout " + describe(g)
                    + " differs from the dump's; restore on the kernel the dump was made on");
        }
        long base = g.getFirst().start();
        for (int i = 0; i < g.size(); i++) {
            remap(p, parkedAt + (g.get(i).start() - base), g.get(i).size(), dumped.get(i).getStart());
        }
    }

    private static void remap(Puppet p, long from, long size, long to) {
        if (from == to) {
            return;
        }
        p.syscall("mremap(0x" + Long.toHexString(from) + " -> 0x" + Long.toHexString(to) + ")", Kernel.__NR_mremap,
                from, size, size, Kernel.MREMAP_MAYMOVE | Kernel.MREMAP_FIXED, to);
    }

    private static String describe(List<ProcMaps.Mapping> g) {
        return g.stream().map(m -> m.name() + " " + m.size() / Page.SIZE + "p").toList().toString();
    }
}
