package dev.cryo.images;

import java.util.ArrayList;
import java.util.List;

import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;

/**
 * Which anonymous mappings a child holds as it inherited them from its parent at fork: the same range, the
 * same flags, and for shared memory the same object. Dump and restore agree on it through this one rule:
 * in such a private mapping, a child's page that is absent from its pagemap is the parent's page (still
 * shared copy-on-write at dump, so written once, with the parent), and restore, which clones the child
 * from its restored parent, keeps what the child inherited there.
 */
public final class Inheritance {
    private static final int MAP_PRIVATE = 0x02; // the kernel's value (uapi asm-generic/mman-common.h)

    private Inheritance() {}

    /** The child's anonymous mappings (private and shared) that its parent has the same way. */
    public static List<VmaEntry> inherited(MmEntry child, MmEntry parent) {
        List<VmaEntry> out = new ArrayList<>();
        for (VmaEntry v : child.getVmasList()) {
            if (!isAnonPrivate(v) && !isAnonShared(v)) {
                continue;
            }
            boolean same = parent.getVmasList().stream().anyMatch(pv -> pv.getStart() == v.getStart()
                    && pv.getEnd() == v.getEnd() && pv.getFlags() == v.getFlags()
                    && (isAnonPrivate(v) ? isAnonPrivate(pv) : isAnonShared(pv) && pv.getShmid() == v.getShmid()));
            if (same) {
                out.add(v);
            }
        }
        return out;
    }

    /** Private anonymous memory (heap and stack included), not the kernel's special mappings. */
    public static boolean isAnonPrivate(VmaEntry v) {
        int special = VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR | VmaStatus.VMA_AREA_VSYSCALL
                | VmaStatus.VMA_FILE_PRIVATE | VmaStatus.VMA_FILE_SHARED | VmaStatus.VMA_ANON_SHARED;
        return (v.getStatus() & VmaStatus.VMA_AREA_REGULAR) != 0 && (v.getStatus() & special) == 0
                && (v.getFlags() & MAP_PRIVATE) != 0;
    }

    public static boolean isAnonShared(VmaEntry v) {
        return (v.getStatus() & VmaStatus.VMA_AREA_REGULAR) != 0 && (v.getStatus() & VmaStatus.VMA_ANON_SHARED) != 0;
    }
}
