package dev.cryo.dump.internal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.images.Inheritance;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagepipe.PageRange;
import dev.cryo.pagepipe.PageRanges;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.syscalls.Page;

/**
 * Pages a child still shares copy-on-write with its parent (the same page frame in both
 * {@code /proc/PID/pagemap}s, readable as root), in the private mappings it inherited ({@link Inheritance}):
 * they are written once, with the parent, and left out of the child's pagemap. CRIU writes them for every
 * task, so a 1 GiB process with one forked child gives 2 GiB of images; cryo gives 1.
 *
 * <p>So that a page missing from the child's pagemap there always means "the parent's", a page that the
 * parent has and the child does not (dropped with MADV_DONTNEED, say, or the shared zero page) is written
 * for the child as the zero page it reads as.
 */
final class CowSharing {
    private static final long PRESENT = 1L << 63;
    private static final long PFN = (1L << 55) - 1;

    private CowSharing() {}

    /** The child's plan without the pages it shares with its parent, and with zero pages where it must. */
    static MemoryCollector.Plan apply(int child, MmEntry childMm, MemoryCollector.Plan plan, int parent, MmEntry parentMm) {
        List<PageRange> shared = new ArrayList<>();
        List<PageRange> parentHas = new ArrayList<>();
        try (RandomAccessFile c = new RandomAccessFile("/proc/" + child + "/pagemap", "r");
             RandomAccessFile p = new RandomAccessFile("/proc/" + parent + "/pagemap", "r")) {
            for (VmaEntry v : Inheritance.inherited(childMm, parentMm)) {
                if (Inheritance.isAnonPrivate(v)) {
                    compare(c, p, v.getStart(), v.getEnd(), shared, parentHas);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot compare the pagemaps of pid " + child + " and its parent " + parent, e);
        }
        if (shared.isEmpty() && parentHas.isEmpty()) {
            return plan;
        }
        List<PageRange> planned = new ArrayList<>();
        plan.runs().forEach(r -> PageRanges.append(planned, r.vaddr(), r.vaddr() + r.pages() * Page.SIZE));
        List<PageRange> zeros = PageRanges.subtract(PageRanges.subtract(parentHas, shared), planned);

        List<PageRange> copy = union(PageRanges.subtract(plan.ranges(), shared), zeros);
        List<PageRange> inParent = new ArrayList<>();
        for (PageSink.Run r : plan.runs()) {
            if (r.inParent()) {
                for (PageRange x : PageRanges.subtract(List.of(new PageRange(r.vaddr(), r.pages())), shared)) {
                    inParent.add(x);
                }
            }
        }
        List<PageSink.Run> runs = MemoryCollector.runs(copy, inParent);
        return new MemoryCollector.Plan(runs, copy, plan.scanned(), PageRanges.pages(copy), PageRanges.pages(inParent));
    }

    /** Pages of [start, end) with the same frame in both (shared), and those the parent has at all. */
    private static void compare(RandomAccessFile child, RandomAccessFile parent, long start, long end,
                                List<PageRange> shared, List<PageRange> parentHas) throws IOException {
        long pages = (end - start) / Page.SIZE;
        long chunk = 65536;
        for (long at = 0; at < pages; at += chunk) {
            int n = (int) Math.min(chunk, pages - at);
            ByteBuffer c = read(child, start / Page.SIZE + at, n);
            ByteBuffer p = read(parent, start / Page.SIZE + at, n);
            for (int k = 0; k < n; k++) {
                long ce = c.getLong(k * 8);
                long pe = p.getLong(k * 8);
                long va = start + (at + k) * Page.SIZE;
                boolean parentPage = (pe & (3L << 62)) != 0; // present or swapped
                if (parentPage) {
                    PageRanges.append(parentHas, va, va + Page.SIZE);
                }
                // A frame number of 0 means the kernel hid it (no privilege): then nothing counts as shared.
                boolean same = (ce & PRESENT) != 0 && (pe & PRESENT) != 0 && (ce & PFN) != 0 && (ce & PFN) == (pe & PFN);
                if (same) {
                    PageRanges.append(shared, va, va + Page.SIZE);
                }
            }
        }
    }

    private static ByteBuffer read(RandomAccessFile f, long page, int n) throws IOException {
        byte[] raw = new byte[n * 8]; // pagemap entries, not page contents
        f.seek(page * 8);
        f.readFully(raw);
        return ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static List<PageRange> union(List<PageRange> a, List<PageRange> b) {
        List<PageRange> all = new ArrayList<>(a);
        all.addAll(b);
        all.sort((x, y) -> Long.compare(x.start(), y.start()));
        List<PageRange> out = new ArrayList<>();
        for (PageRange r : all) {
            PageRanges.append(out, r.start(), r.end());
        }
        return out;
    }
}
