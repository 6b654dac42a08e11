package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.page_region;
import dev.cryo.bindings.pm_scan_arg;

/**
 * The PAGEMAP_SCAN ioctl (Linux 6.7) on a {@code /proc/PID/pagemap} descriptor: one {@code struct pm_scan_arg}
 * packed here, and the {@code struct page_region}s the kernel fills read back as ranges. Owns the argument
 * and the output vector (off-heap, reused scan after scan); one thread at a time.
 */
public final class PagemapScan implements AutoCloseable {
    /** Page categories (PAGE_IS_*), for the masks of a {@link Query} and {@link #categories}. */
    public static final long WPALLOWED = Linux.PAGE_IS_WPALLOWED();
    public static final long WRITTEN = Linux.PAGE_IS_WRITTEN();
    public static final long FILE = Linux.PAGE_IS_FILE();
    public static final long PRESENT = Linux.PAGE_IS_PRESENT();
    public static final long SWAPPED = Linux.PAGE_IS_SWAPPED();
    public static final long PFNZERO = Linux.PAGE_IS_PFNZERO();
    public static final long SOFT_DIRTY = Linux.PAGE_IS_SOFT_DIRTY();
    /** Flags: write-protect the pages matched; fail with EPERM on a page without async write-protect. */
    public static final long WP_MATCHING = Linux.PM_SCAN_WP_MATCHING();
    public static final long CHECK_WPASYNC = Linux.PM_SCAN_CHECK_WPASYNC();

    /**
     * What to look for: a page matches when all of {@code mask} (with the bits of {@code inverted} negated)
     * and any of {@code anyOf} hold; {@code returned} are the categories reported; {@code maxPages} 0 for
     * no limit.
     */
    public record Query(long flags, long inverted, long mask, long anyOf, long returned, long maxPages) {}

    /** Receives each range of matching pages, [start, end). */
    @FunctionalInterface
    public interface Regions {
        void region(long start, long end);
    }

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment arg = pm_scan_arg.allocate(arena);
    private final MemorySegment vec;
    private final int capacity;

    /** Room for {@code capacity} ranges a call. */
    public PagemapScan(int capacity) {
        this.capacity = capacity;
        this.vec = page_region.allocateArray(capacity, arena);
    }

    /**
     * One PAGEMAP_SCAN of [start, end): returns how many ranges it filled ({@link #start}, {@link #end},
     * {@link #categories}); {@link #walkEnd} says where it stopped. An error names {@code what} (say, which
     * pagemap and why) and the range.
     */
    public int scan(String what, Fd pagemap, long start, long end, Query q) {
        arg.fill((byte) 0);
        pm_scan_arg.size(arg, pm_scan_arg.sizeof());
        pm_scan_arg.flags(arg, q.flags());
        pm_scan_arg.start(arg, start);
        pm_scan_arg.end(arg, end);
        pm_scan_arg.vec(arg, vec.address());
        pm_scan_arg.vec_len(arg, capacity);
        pm_scan_arg.max_pages(arg, q.maxPages());
        pm_scan_arg.category_inverted(arg, q.inverted());
        pm_scan_arg.category_mask(arg, q.mask());
        pm_scan_arg.category_anyof_mask(arg, q.anyOf());
        pm_scan_arg.return_mask(arg, q.returned());
        return (int) Io.ioctl(String.format("PAGEMAP_SCAN%s 0x%x-0x%x", what, start, end), pagemap.fd(), Linux.PAGEMAP_SCAN(), arg.address());
    }

    /** Scans all of [start, end), call after call where the vector fills, handing each range to {@code out}. */
    public void scanAll(String what, Fd pagemap, long start, long end, Query q, Regions out) {
        long at = start;
        while (at < end) {
            int n = scan(what, pagemap, at, end, q);
            for (int i = 0; i < n; i++) {
                out.region(start(i), end(i));
            }
            long walkEnd = walkEnd();
            if (walkEnd <= at) {
                break;
            }
            at = walkEnd;
        }
    }

    public long start(int i) {
        return page_region.start(page_region.asSlice(vec, i));
    }

    public long end(int i) {
        return page_region.end(page_region.asSlice(vec, i));
    }

    public long categories(int i) {
        return page_region.categories(page_region.asSlice(vec, i));
    }

    /** Where the last scan stopped: its end, or the first page it did not walk. */
    public long walkEnd() {
        return pm_scan_arg.walk_end(arg);
    }

    @Override
    public void close() {
        arena.close();
    }
}
