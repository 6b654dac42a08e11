package dev.cryo.restore.internal.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.images.proto.MmEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.PrctlMmMap;

/** prctl(PR_SET_MM, PR_SET_MM_MAP): the bounds of code, data, brk, stack, arguments and environment, auxv, and the executable. */
final class MmMap {
    private MmMap() {}

    static void set(Puppet p, MmEntry mm, String exe) {
        // A child cloned from its restored parent has the executable already; the kernel refuses (EBUSY) to
        // replace an exe_file that is still mapped, even by itself, so it is left as it is.
        boolean same = exe.equals(Io.readlink("/proc/" + p.pid() + "/exe"));
        int exeFd = same ? -1 : p.open(exe, Kernel.O_RDONLY | Kernel.O_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined(); Scratch s = p.scratch()) {
            MemorySegment auxv = a.allocate(ValueLayout.JAVA_LONG, Math.max(1, mm.getMmSavedAuxvCount()));
            for (int i = 0; i < mm.getMmSavedAuxvCount(); i++) {
                auxv.setAtIndex(ValueLayout.JAVA_LONG, i, mm.getMmSavedAuxv(i));
            }
            long auxvAt = s.put(auxv);
            MemorySegment m = new PrctlMmMap(mm.getMmStartCode(), mm.getMmEndCode(), mm.getMmStartData(),
                    mm.getMmEndData(), mm.getMmStartBrk(), mm.getMmBrk(), mm.getMmStartStack(), mm.getMmArgStart(),
                    mm.getMmArgEnd(), mm.getMmEnvStart(), mm.getMmEnvEnd(), auxvAt, mm.getMmSavedAuxvCount() * 8, exeFd).write(a);
            p.syscall("prctl(PR_SET_MM_MAP)", Kernel.__NR_prctl, Kernel.PR_SET_MM, Kernel.PR_SET_MM_MAP,
                    s.put(m), PrctlMmMap.SIZE, 0);
        } finally {
            if (exeFd >= 0) {
                p.closeFd(exeFd);
            }
        }
    }
}
