package dev.cryo.syscalls;

import dev.cryo.bindings.Linux;

/**
 * The page: the unit in which the kernel maps, protects, reports (pagemap, PAGEMAP_SCAN, mincore) and
 * moves (vmsplice, UFFDIO_COPY) memory. Its size is the running kernel's, asked once.
 */
public final class Page {
    /** Bytes in a page: getpagesize(2), 4096 on x86-64. */
    public static final long SIZE = Linux.getpagesize();

    private Page() {}

    /** How many pages {@code bytes} fills, the last one possibly in part. */
    public static long count(long bytes) {
        return (bytes + SIZE - 1) / SIZE;
    }

    /** {@code bytes} rounded up to a whole number of pages. */
    public static long roundUp(long bytes) {
        return count(bytes) * SIZE;
    }

    /** {@code address} rounded down to the start of its page. */
    public static long start(long address) {
        return address & -SIZE;
    }
}
