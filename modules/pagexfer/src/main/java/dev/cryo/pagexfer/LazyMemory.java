package dev.cryo.pagexfer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import dev.cryo.images.Inheritance;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.ThreadCoreEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;

/**
 * Which pages of a dumped process may arrive after it runs again, and which must be in place before its
 * first instruction. The one rule that a lazy dump (which leaves the lazy pages on its side, {@code PE_LAZY}),
 * a lazy restore (which maps them empty and registers them with a userfaultfd) and the lazy-pages daemon
 * (which fills them) share, so that the three agree without telling each other.
 *
 * <p>Lazy: private anonymous memory (heap, stacks, anonymous mappings), as CRIU's
 * {@code vma_entry_can_be_lazy}, but not memory locked with mlock (locking faults every page in, before any
 * daemon could answer) and not the kernel's own mappings. Eager inside it: each thread's resume stack page
 * and the page below it that its red zone may reach, and the thread's rseq area, which the kernel writes on
 * every return to user space from the first system call the restore makes in it, long before the daemon
 * has the userfaultfd (a page written there then would be a zero page with the kernel's few bytes on it).
 * Eager too: the command line and the environment, which the kernel reads for other processes
 * ({@code /proc/PID/cmdline}, {@code environ}: ps, pgrep) through a page lookup that cannot wait for a
 * userfaultfd's answer and would read nothing.
 */
public final class LazyMemory {
    /** The x86-64 ABI's red zone below the stack pointer, which a leaf function uses without moving it. */
    private static final long RED_ZONE = 128;

    private final List<long[]> mappings;
    private final List<long[]> eager;

    private LazyMemory(List<long[]> mappings, List<long[]> eager) {
        this.mappings = mappings;
        this.eager = eager;
    }

    /** The rule applied to one process: its mappings ({@code mm}) and the cores of its threads. */
    public static LazyMemory of(MmEntry mm, List<CoreEntry> cores) {
        List<long[]> threadPages = new ArrayList<>();
        cores.forEach(c -> threadPages.addAll(threadPages(c)));
        return withThreadPages(mm, threadPages);
    }

    /**
     * The rule applied to one process: its mappings ({@code mm}) and the pages its threads need at once,
     * {@link #threadPages} of each (for a dump that writes each core as it collects it, and keeps no more).
     */
    public static LazyMemory withThreadPages(MmEntry mm, List<long[]> threadPages) {
        List<long[]> maps = new ArrayList<>();
        for (VmaEntry v : mm.getVmasList()) {
            if (isLazy(v)) {
                append(maps, v.getStart(), v.getEnd());
            }
        }
        List<long[]> eager = new ArrayList<>(threadPages);
        if (mm.getMmArgEnd() > mm.getMmArgStart()) {
            eager.add(new long[] {floor(mm.getMmArgStart()), floor(mm.getMmArgEnd() - 1) + Page.SIZE});
        }
        if (mm.getMmEnvEnd() > mm.getMmEnvStart()) {
            eager.add(new long[] {floor(mm.getMmEnvStart()), floor(mm.getMmEnvEnd() - 1) + Page.SIZE});
        }
        eager.sort(Comparator.comparingLong(r -> r[0]));
        List<long[]> merged = new ArrayList<>();
        eager.forEach(r -> append(merged, r[0], r[1]));
        return new LazyMemory(List.copyOf(maps), intersect(merged, maps));
    }

    /** The pages of one thread, [start, end), needed before its first instruction: its resume stack page (and red zone), its rseq area. */
    public static List<long[]> threadPages(CoreEntry c) {
        List<long[]> pages = new ArrayList<>(2);
        if (c.hasThreadInfo()) {
            long sp = c.getThreadInfo().getGpregs().getSp();
            pages.add(new long[] {floor(sp - RED_ZONE), floor(sp) + Page.SIZE});
        }
        ThreadCoreEntry tc = c.getThreadCore();
        if (tc.hasRseqEntry() && tc.getRseqEntry().getRseqAbiPointer() != 0) {
            long at = tc.getRseqEntry().getRseqAbiPointer();
            pages.add(new long[] {floor(at), floor(at + Math.max(1, tc.getRseqEntry().getRseqAbiSize()) - 1) + Page.SIZE});
        }
        return pages;
    }

    /** Whether the private pages of mapping {@code v} may be left for the lazy-pages daemon. */
    public static boolean isLazy(VmaEntry v) {
        return Inheritance.isAnonPrivate(v) && (v.getFlags() & Kernel.MAP_LOCKED) == 0;
    }

    /** The lazy mappings as [start, end) in address order, neighbours joined: what a userfaultfd registers. */
    public List<long[]> mappings() {
        return mappings;
    }

    /** The pages inside lazy mappings that must be filled before the first instruction, [start, end), sorted. */
    public List<long[]> eager() {
        return eager;
    }

    /** The parts of [start, end) that are lazy: inside a lazy mapping and not eager. */
    public List<long[]> lazyPart(long start, long end) {
        return subtract(clip(mappings, start, end), clip(eager, start, end));
    }

    /**
     * Whether all of [start, end) is lazy ({@link #lazyPart} is the whole range), told by two binary searches with
     * nothing allocated: a restore and its check ask it for each of the thousands of runs that pre-copy leaves.
     */
    public boolean allLazy(long start, long end) {
        int m = firstEndingAfter(mappings, start);
        if (m >= mappings.size() || mappings.get(m)[0] > start || mappings.get(m)[1] < end) {
            return false; // the lazy mappings are joined where they touch: one of them must hold it all
        }
        int e = firstEndingAfter(eager, start);
        return e >= eager.size() || eager.get(e)[0] >= end;
    }

    /** The index of the first of the sorted, disjoint {@code ranges} that ends after {@code addr}. */
    private static int firstEndingAfter(List<long[]> ranges, long addr) {
        return Runs.firstEndingAfter(ranges, 0, addr, r -> r[1]);
    }

    /** The parts of the sorted, disjoint {@code ranges} inside [start, end), found by binary search. */
    public static List<long[]> clip(List<long[]> ranges, long start, long end) {
        List<long[]> out = new ArrayList<>();
        for (int i = firstEndingAfter(ranges, start); i < ranges.size() && ranges.get(i)[0] < end; i++) {
            out.add(new long[] {Math.max(start, ranges.get(i)[0]), Math.min(end, ranges.get(i)[1])});
        }
        return out;
    }

    /** The parts of [start, end) filled before the first instruction: outside every lazy mapping, or eager. */
    public List<long[]> eagerPart(long start, long end) {
        return subtract(List.of(new long[] {start, end}), lazyPart(start, end));
    }

    /** Whether [start, end) lies wholly inside lazy mappings (eager pages included). */
    public boolean inLazyMappings(long start, long end) {
        return subtract(List.of(new long[] {start, end}), clip(mappings, start, end)).isEmpty();
    }

    private static long floor(long addr) {
        return addr & -Page.SIZE;
    }

    private static void append(List<long[]> out, long start, long end) {
        if (!out.isEmpty() && out.getLast()[1] >= start) {
            out.getLast()[1] = Math.max(out.getLast()[1], end);
        } else {
            out.add(new long[] {start, end});
        }
    }

    /** Both sorted, disjoint: their common parts. */
    public static List<long[]> intersect(List<long[]> a, List<long[]> b) {
        List<long[]> out = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < a.size() && j < b.size()) {
            long lo = Math.max(a.get(i)[0], b.get(j)[0]);
            long hi = Math.min(a.get(i)[1], b.get(j)[1]);
            if (lo < hi) {
                out.add(new long[] {lo, hi});
            }
            if (a.get(i)[1] < b.get(j)[1]) {
                i++;
            } else {
                j++;
            }
        }
        return out;
    }

    /** Both sorted, disjoint: what of {@code a} is not in {@code b}. */
    public static List<long[]> subtract(List<long[]> a, List<long[]> b) {
        List<long[]> out = new ArrayList<>();
        int j = 0;
        for (long[] r : a) {
            long at = r[0];
            while (j < b.size() && b.get(j)[1] <= at) {
                j++;
            }
            int k = j;
            while (at < r[1]) {
                if (k >= b.size() || b.get(k)[0] >= r[1]) {
                    out.add(new long[] {at, r[1]});
                    break;
                }
                long[] cut = b.get(k);
                if (cut[0] > at) {
                    out.add(new long[] {at, cut[0]});
                }
                at = Math.max(at, cut[1]);
                k++;
            }
        }
        return out;
    }
}
