package dev.cryo.pagexfer;

import java.util.List;
import java.util.function.ToLongFunction;

/** Lookups in runs of memory kept in address order (pagemap runs, extents, mappings, lazy pieces). */
public final class Runs {
    private Runs() {}

    /**
     * The index of the first of {@code runs} from index {@code from} on whose end ({@code end} of it, exclusive)
     * lies after {@code addr}: {@code runs.size()} when none does. A binary search: the runs are disjoint and in
     * address order, so their ends are too.
     */
    public static <T> int firstEndingAfter(List<T> runs, int from, long addr, ToLongFunction<? super T> end) {
        int lo = from;
        int hi = runs.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (end.applyAsLong(runs.get(mid)) <= addr) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
