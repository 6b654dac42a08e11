package dev.cryo.lazypages.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The pages one userfaultfd's process still needs, by address: taken out as they are placed, cut out where
 * the process drops or unmaps memory, moved where it remaps it, copied for a child it forks.
 */
final class Pending {
    private final TreeMap<Long, Piece> pieces = new TreeMap<>();
    private long pages;

    Pending() {}

    Pending(List<Piece> initial) {
        initial.forEach(this::put);
    }

    boolean isEmpty() {
        return pieces.isEmpty();
    }

    long pages() {
        return pages;
    }

    void put(Piece p) {
        if (p.end() > p.start()) {
            pieces.put(p.start(), p);
            pages += p.pages();
        }
    }

    /** The piece holding page {@code addr}, or null. */
    Piece at(long addr) {
        Map.Entry<Long, Piece> e = pieces.floorEntry(addr);
        return e != null && e.getValue().end() > addr ? e.getValue() : null;
    }

    /**
     * Takes out up to {@code max} bytes of one piece: from {@code from} if a piece holds it, else from the next
     * piece above it, else from the lowest one; null when nothing is pending.
     */
    Piece take(long from, long max) {
        Piece p = at(from);
        long start = from;
        if (p == null) {
            Map.Entry<Long, Piece> next = pieces.higherEntry(from);
            if (next == null) {
                next = pieces.firstEntry();
            }
            if (next == null) {
                return null;
            }
            p = next.getValue();
            start = p.start();
        }
        return cut(p, start, Math.min(p.end(), start + max));
    }

    /** Takes out [from, to) of piece {@code p}, which must be pending; what is left of it stays. */
    Piece cut(Piece p, long from, long to) {
        pieces.remove(p.start());
        pages -= p.pages();
        if (p.start() < from) {
            put(p.slice(p.start(), from));
        }
        if (to < p.end()) {
            put(p.slice(to, p.end()));
        }
        return p.slice(from, to);
    }

    /** Drops whatever is pending in [start, end) (madvise(MADV_DONTNEED), munmap: the memory reads as zeroes now, or is gone). */
    List<Piece> remove(long start, long end) {
        List<Piece> out = new ArrayList<>();
        Map.Entry<Long, Piece> first = pieces.floorEntry(start);
        Long key = first != null && first.getValue().end() > start ? first.getKey() : pieces.ceilingKey(start);
        while (key != null && key < end) {
            Piece p = pieces.get(key);
            out.add(cut(p, Math.max(start, p.start()), Math.min(end, p.end())));
            key = pieces.ceilingKey(key + 1);
        }
        return out;
    }

    /** mremap moved [from, from+len) to [to, to+len): what was pending there moves with it. */
    void remap(long from, long to, long len) {
        List<Piece> moving = remove(from, from + len);
        remove(to, to + len); // whatever was mapped there before is gone
        for (Piece p : moving) {
            put(p.moved(to - from));
        }
    }

    /** What a child forked now needs: the same pages, at the same addresses. */
    Pending copy() {
        Pending c = new Pending();
        pieces.values().forEach(c::put);
        return c;
    }
}
