package dev.cryo.pagepipe;

/** {@code pages} pages from virtual address {@code start} (page-aligned). */
public record PageRange(long start, long pages) {
    public static final long PAGE_SIZE = 4096;

    public long end() {
        return start + pages * PAGE_SIZE;
    }

    public long bytes() {
        return pages * PAGE_SIZE;
    }
}
