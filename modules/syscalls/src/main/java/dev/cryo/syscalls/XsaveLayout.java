package dev.cryo.syscalls;

/**
 * Where each XSAVE component sits in the standard (non-compacted) format that {@code PTRACE_GETREGSET
 * NT_X86_XSTATE} uses. The offsets are the CPU's (CPUID leaf 0xD, sub-leaf = component), not fixed:
 * Intel puts the AVX-512 opmask at 1088, the AMD EPYC of this machine kind at 832.
 */
public final class XsaveLayout {
    public static final int AVX = 2;
    public static final int BNDREGS = 3;
    public static final int BNDCSR = 4;
    public static final int OPMASK = 5;
    public static final int ZMM_HI256 = 6;
    public static final int HI16_ZMM = 7;
    public static final int PKRU = 9;
    private static final int COMPONENTS = 10;

    private static volatile XsaveLayout current;

    private final int[] offsets;
    private final int[] sizes;

    private XsaveLayout(int[] offsets, int[] sizes) {
        this.offsets = offsets;
        this.sizes = sizes;
    }

    /** This CPU's layout, asked once. */
    public static XsaveLayout current() {
        XsaveLayout l = current;
        if (l == null) {
            int[] offsets = new int[COMPONENTS];
            int[] sizes = new int[COMPONENTS];
            boolean xsave = Cpuid.query(0, 0)[0] >= 0xd;
            for (int c = AVX; c < COMPONENTS && xsave; c++) {
                int[] r = Cpuid.query(0xd, c);
                sizes[c] = r[0];
                offsets[c] = r[1];
            }
            l = new XsaveLayout(offsets, sizes);
            current = l;
        }
        return l;
    }

    /** Byte offset of component {@code c} in the standard format; meaningful only when {@link #size} is not 0. */
    public int offset(int c) {
        return offsets[c];
    }

    /** Size in bytes of component {@code c}, 0 if this CPU does not have it. */
    public int size(int c) {
        return sizes[c];
    }

    /** Whether component {@code c} lies wholly within an xstate area of {@code areaSize} bytes. */
    public boolean fits(int c, long areaSize) {
        return sizes[c] > 0 && offsets[c] + (long) sizes[c] <= areaSize;
    }
}
