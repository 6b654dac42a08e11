package dev.cryo.images;

/** Bits of {@code pagemap_entry.flags}, as CRIU defines them. */
public final class PagemapFlags {
    /** The pages are in the parent snapshot's images (pre-dump chain), not in this one. */
    public static final int PE_PARENT = 1;
    /** The pages are served later, on fault, by a lazy-pages daemon. */
    public static final int PE_LAZY = 1 << 1;
    /** The pages are in this snapshot's pages image, in pagemap order. */
    public static final int PE_PRESENT = 1 << 2;

    private PagemapFlags() {}
}
