package dev.cryo.pagepipe;

import java.util.ArrayList;
import java.util.List;

/** Set operations on sorted, non-overlapping lists of page ranges. */
public final class PageRanges {
    private PageRanges() {}

    /** The pages that are in both {@code a} and {@code b}. */
    public static List<PageRange> intersect(List<PageRange> a, List<PageRange> b) {
        List<PageRange> out = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < a.size() && j < b.size()) {
            PageRange x = a.get(i);
            PageRange y = b.get(j);
            long start = Math.max(x.start(), y.start());
            long end = Math.min(x.end(), y.end());
            if (start < end) {
                PresentPages.add(out, start, end);
            }
            if (x.end() < y.end()) {
                i++;
            } else {
                j++;
            }
        }
        return out;
    }

    /** The pages of {@code a} that are not in {@code b}. */
    public static List<PageRange> subtract(List<PageRange> a, List<PageRange> b) {
        List<PageRange> out = new ArrayList<>();
        int j = 0;
        for (PageRange x : a) {
            long at = x.start();
            while (j < b.size() && b.get(j).end() <= at) {
                j++;
            }
            int k = j;
            while (at < x.end()) {
                if (k >= b.size() || b.get(k).start() >= x.end()) {
                    PresentPages.add(out, at, x.end());
                    break;
                }
                PageRange y = b.get(k);
                if (y.start() > at) {
                    PresentPages.add(out, at, y.start());
                }
                at = Math.max(at, y.end());
                k++;
            }
        }
        return out;
    }

    /** Appends [start, end) to a sorted list, joining it to the last range when they touch. */
    public static void append(List<PageRange> out, long start, long end) {
        PresentPages.add(out, start, end);
    }

    public static long pages(List<PageRange> ranges) {
        return ranges.stream().mapToLong(PageRange::pages).sum();
    }
}
