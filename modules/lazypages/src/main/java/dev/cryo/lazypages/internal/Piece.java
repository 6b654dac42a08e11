package dev.cryo.lazypages.internal;

import java.lang.foreign.MemorySegment;

import dev.cryo.syscalls.Page;

/**
 * Pages still to place at [start, end) of a process's memory, whose contents are those of process {@code owner}
 * at {@code img} at dump time (a process forked after the restore, or one whose mapping moved, has them at
 * another address than the dump's). {@code bytes} is where they are in a mapped pages image, or null for pages
 * a lazy dump kept on its side (the page source fetches them).
 */
record Piece(long start, long end, long img, int owner, MemorySegment bytes) {

    long pages() {
        return (end - start) / Page.SIZE;
    }

    boolean remote() {
        return bytes == null;
    }

    /** The part [from, to) of this piece. */
    Piece slice(long from, long to) {
        long off = from - start;
        return new Piece(from, to, img + off, owner, bytes == null ? null : bytes.asSlice(off, to - from));
    }

    /** The same pages, moved by {@code delta} in the process's memory (mremap). */
    Piece moved(long delta) {
        return new Piece(start + delta, end + delta, img, owner, bytes);
    }
}
