package dev.cryo.images;

import dev.cryo.images.proto.PagemapEntry;

/** Reading pagemap entries as every CRIU writes them. */
public final class Pagemaps {
    private Pagemaps() {}

    /**
     * The entry's page count: field 5 where the entry has it (CRIU 4.2 writes the count only there, and 0 into
     * field 2), else field 2, unsigned.
     */
    public static long pages(PagemapEntry e) {
        return e.hasNrPagesU64() ? e.getNrPagesU64() : Integer.toUnsignedLong(e.getNrPages());
    }
}
