package dev.cryo.lazypages.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.Inheritance;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.LazyMemory;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.Runs;

/**
 * The dumped tree as the daemon needs it: for each process, the pages its lazy restore left to the daemon,
 * worked out from the images with the rule the restore used ({@link LazyMemory}). A process's own lazy pages
 * come from its pagemap; in a private mapping it inherited from its parent, a page its pagemap lacks is its
 * parent's (the dump wrote a page a child shared with its parent once, with the parent: {@link Inheritance}),
 * and comes from the parent's pages. The pages of a pre-dump parent are the restore's to write, unless
 * {@code parentPages}: then they are lazy as the dump's own, read from the parent's images on this side
 * (never fetched from the dump's side: only the dump's own lazy runs are remote).
 */
public final class DumpedTree implements AutoCloseable {
    private final ImageStore store;
    /** The images directory, for messages. */
    private final String where;
    /** Pages of a pre-dump parent are placed too (from the parent's images), not left to the restore. */
    private final boolean parentPages;
    private final Map<Integer, PstreeEntry> processes = new LinkedHashMap<>();
    private final Map<Integer, MmEntry> mms = new HashMap<>();
    private final Map<Integer, List<Piece>> pieces = new HashMap<>();
    private final List<PageSource> sources = new ArrayList<>();

    public DumpedTree(ImageStore store, String where, boolean parentPages) {
        this.store = store;
        this.where = where;
        this.parentPages = parentPages;
        try (EntryReader r = store.openReader(ImageKind.PSTREE)) {
            for (PstreeEntry e; (e = r.next(PstreeEntry.parser())) != null; ) {
                processes.put(e.getPid(), e);
            }
        }
    }

    /**
     * Works out every live process's lazy pages now, ahead of the restore (which waits for each answer while its
     * tree is stopped): the images read, the pages images mapped.
     */
    public void prepare() {
        for (int pid : processes.keySet()) {
            if (refusal(pid) == null) {
                lazyPages(pid);
            }
        }
    }

    /** Why process {@code pid} cannot be served, or null: it must be a live process of the dump. */
    String refusal(int pid) {
        PstreeEntry e = processes.get(pid);
        if (e == null) {
            return "pid " + pid + " is not a process of the dump in " + where + " (pstree.img)";
        }
        if (!store.exists(ImageKind.MM.fileName(pid))) {
            return "pid " + pid + " has no memory in the dump in " + where + " (a zombie: no mm-" + pid + ".img)";
        }
        return null;
    }

    /** The pages the daemon places in process {@code pid}, in address order. */
    List<Piece> lazyPages(int pid) {
        List<Piece> known = pieces.get(pid);
        if (known != null) {
            return known;
        }
        MmEntry mm = mm(pid);
        List<CoreEntry> cores = new ArrayList<>();
        for (int tid : processes.get(pid).getThreadsList()) {
            cores.add(store.readEntry(ImageKind.CORE, tid, CoreEntry.parser()));
        }
        LazyMemory rule = LazyMemory.of(mm, cores);
        PageSource src = PageSource.open(store, pid);
        sources.add(src);
        List<Piece> out = new ArrayList<>();
        List<long[]> covered = new ArrayList<>();
        for (PageSource.Extent x : src.extents()) {
            append(covered, x.vaddr(), x.end());
            if (x.depth() > 0 && !parentPages) {
                continue; // a pre-dump's pages: the restore put them in place
            }
            List<long[]> lazy = rule.allLazy(x.vaddr(), x.end()) ? List.of(new long[] {x.vaddr(), x.end()})
                    : rule.lazyPart(x.vaddr(), x.end());
            for (long[] part : perMapping(mm, lazy)) {
                Piece p = new Piece(part[0], part[1], part[0], pid, x.lazy() ? null : src.bytes(x).asSlice(part[0] - x.vaddr(), part[1] - part[0]));
                out.add(p);
            }
        }
        int ppid = processes.get(pid).getPpid();
        int own = out.size(); // in address order, as the extents are
        if (processes.containsKey(ppid) && refusal(ppid) == null) {
            List<long[]> holes = new ArrayList<>();
            for (VmaEntry v : Inheritance.inherited(mm, mm(ppid))) {
                if (LazyMemory.isLazy(v)) {
                    holes.addAll(LazyMemory.subtract(List.of(new long[] {v.getStart(), v.getEnd()}),
                            LazyMemory.clip(covered, v.getStart(), v.getEnd())));
                }
            }
            holes.sort(Comparator.comparingLong(h -> h[0]));
            List<Piece> fromParent = lazyPages(ppid);
            for (long[] h : holes) {
                for (Piece p : within(fromParent, h[0], h[1])) {
                    out.add(p);
                }
            }
        }
        if (out.size() > own) {
            out.sort(Comparator.comparingLong(Piece::start));
        }
        pieces.put(pid, out);
        return out;
    }

    /**
     * {@code parts} (sorted) cut where the dumped mappings meet: UFFDIO_COPY places pages inside one mapping only
     * (ENOENT otherwise), and a pagemap run, so a part, may span neighbouring mappings.
     */
    private static List<long[]> perMapping(MmEntry mm, List<long[]> parts) {
        List<long[]> out = new ArrayList<>();
        List<VmaEntry> vmas = mm.getVmasList();
        for (long[] part : parts) {
            long at = part[0];
            int lo = 0;
            int hi = vmas.size();
            while (lo < hi) { // the first mapping that ends after the part starts
                int mid = (lo + hi) >>> 1;
                if (vmas.get(mid).getEnd() <= at) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for (int i = lo; i < vmas.size() && vmas.get(i).getStart() < part[1]; i++) {
                long end = Math.min(part[1], vmas.get(i).getEnd());
                if (end > at && vmas.get(i).getStart() < end) {
                    out.add(new long[] {Math.max(at, vmas.get(i).getStart()), end});
                    at = end;
                }
            }
            if (at < part[1]) {
                out.add(new long[] {at, part[1]}); // in no mapping of the images (lazy parts lie in mappings): the copy will say
            }
        }
        return out;
    }

    private MmEntry mm(int pid) {
        return mms.computeIfAbsent(pid, p -> store.readEntry(ImageKind.MM, p, MmEntry.parser()));
    }

    /** The parts of the sorted {@code ps} inside [start, end). */
    private static List<Piece> within(List<Piece> ps, long start, long end) {
        List<Piece> out = new ArrayList<>();
        for (int i = Runs.firstEndingAfter(ps, 0, start, Piece::end); i < ps.size() && ps.get(i).start() < end; i++) {
            Piece p = ps.get(i);
            out.add(p.slice(Math.max(start, p.start()), Math.min(end, p.end())));
        }
        return out;
    }

    private static void append(List<long[]> out, long start, long end) {
        if (!out.isEmpty() && out.getLast()[1] >= start) {
            out.getLast()[1] = Math.max(out.getLast()[1], end);
        } else {
            out.add(new long[] {start, end});
        }
    }

    String where() {
        return where;
    }

    /** The pages images go (the pieces' bytes were mapped from them). */
    @Override
    public void close() {
        sources.forEach(PageSource::close);
    }
}
