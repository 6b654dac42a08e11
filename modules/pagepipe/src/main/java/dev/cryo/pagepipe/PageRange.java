package dev.cryo.pagepipe;

import dev.cryo.syscalls.Page;

/** {@code pages} pages from virtual address {@code start} (page-aligned). */
public record PageRange(long start, long pages) {

    public long end() {
        return start + pages * Page.SIZE;
    }

    public long bytes() {
        return pages * Page.SIZE;
    }
}
