package dev.cryo.restore.internal.memory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import dev.cryo.images.Inheritance;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.LazyMemory;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.Runs;
import dev.cryo.restore.LazyHandoff;
import dev.cryo.restore.internal.Puppet;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.Uffd;

/**
 * One process of a lazy restore: which of its pages the restore writes itself, and the userfaultfd that
 * leaves the others to the lazy-pages daemon.
 *
 * <p>The restore writes what {@link LazyMemory} calls eager, the pages of a pre-dump parent (never sent
 * lazily: they are on this side already, which CRIU gets wrong, criu issue 2542) unless the daemon places them
 * itself from images on its side ({@link LazyHandoff#placesParentPages()}), and in a child the pages it
 * holds where its parent had pages in place when the child was cloned (the child would otherwise see its
 * parent's page there and never fault). The userfaultfd is made inside the process while it still has
 * cryo's credentials (userfaultfd needs CAP_SYS_PTRACE for faults taken in the kernel), taken out with
 * pidfd_getfd and closed there; the lazy mappings are registered with it only after the restore has
 * written its last byte into the process, just before the handover: a page the restore touched after that
 * would wait for a daemon that does not have the userfaultfd yet.
 */
public final class LazyProcess implements AutoCloseable {
    private final int pid;
    private final LazyMemory rule;
    /** The daemon places the pre-dump parents' pages too: they follow the rule as the dump's own pages do. */
    private final boolean parentPagesLazy;
    /** Pages present when the process was cloned: its parent's, in the private mappings it kept. */
    private final List<long[]> inherited;
    /** Pages the restore wrote into lazy mappings, in address order. */
    private final List<long[]> written = new ArrayList<>();
    /** Inherited pages dropped again (madvise) because this process's own page there is the daemon's to bring. */
    private final List<long[]> dropped = new ArrayList<>();
    /** Which of {@code rule.mappings()} the daemon may have to fill: with lazy pages of this process or of its parent. */
    private final boolean[] register;
    private Fd uffd;

    private LazyProcess(int pid, LazyMemory rule, List<long[]> inherited, boolean parentPagesLazy) {
        this.pid = pid;
        this.rule = rule;
        this.parentPagesLazy = parentPagesLazy;
        this.inherited = inherited;
        this.register = new boolean[rule.mappings().size()];
    }

    /**
     * Process {@code pid} with {@code mm} and its threads' {@code cores}, a child of {@code parent} (with
     * {@code parentMm}; both null for the root), from which it inherits some private mappings at the clone;
     * {@code parentPagesLazy}: the daemon places the pre-dump parents' pages ({@link LazyHandoff#placesParentPages()}).
     */
    public static LazyProcess of(int pid, MmEntry mm, List<CoreEntry> cores, LazyProcess parent, MmEntry parentMm,
                                 boolean parentPagesLazy) {
        LazyMemory rule = LazyMemory.of(mm, cores);
        List<VmaEntry> kept = parentMm == null ? List.of() : Inheritance.inherited(mm, parentMm);
        List<long[]> keptPrivate = new ArrayList<>();
        for (VmaEntry v : kept) {
            if (Inheritance.isAnonPrivate(v)) {
                keptPrivate.add(new long[] {v.getStart(), v.getEnd()});
            }
        }
        keptPrivate.sort(Comparator.comparingLong(r -> r[0]));
        List<long[]> inherited = parent == null ? List.of() : LazyMemory.intersect(parent.present(), keptPrivate);
        LazyProcess lp = new LazyProcess(pid, rule, inherited, parentPagesLazy);
        for (long[] k : keptPrivate) {
            lp.wantsRegistered(k[0], k[1]); // the parent's lazy pages there come to this process on fault too
        }
        return lp;
    }

    /**
     * The parts of lazy extent {@code x} (kept on the dump's side) where this process holds its parent's page since
     * the clone: they must go (MADV_DONTNEED), or the process would see its parent's page there and never fault
     * for its own.
     */
    List<long[]> toDrop(PageSource.Extent x) {
        if (!x.lazy() || inherited.isEmpty()) {
            return List.of();
        }
        List<long[]> drop = LazyMemory.clip(inherited, x.vaddr(), x.end());
        for (long[] d : drop) {
            if (!dropped.isEmpty() && dropped.getLast()[1] >= d[0]) {
                dropped.getLast()[1] = Math.max(dropped.getLast()[1], d[1]);
            } else {
                dropped.add(new long[] {d[0], d[1]});
            }
        }
        return drop;
    }

    /** The parts of extent {@code x} the restore writes now, in address order; the rest is the daemon's. */
    List<long[]> toWrite(PageSource.Extent x) {
        if (x.lazy()) {
            wantsRegistered(x.vaddr(), x.end());
            return List.of(); // on the dump's side: the daemon fetches them
        }
        if (x.depth() > 0 && !parentPagesLazy) {
            return List.of(new long[] {x.vaddr(), x.end()}); // a pre-dump's pages: here already, never lazy
        }
        if (inherited.isEmpty() && rule.allLazy(x.vaddr(), x.end())) {
            wantsRegistered(x.vaddr(), x.end());
            return List.of(); // most runs: nothing to write, nothing to work out
        }
        List<long[]> lazy = LazyMemory.subtract(rule.lazyPart(x.vaddr(), x.end()), LazyMemory.clip(inherited, x.vaddr(), x.end()));
        if (!lazy.isEmpty()) {
            wantsRegistered(x.vaddr(), x.end());
        }
        return LazyMemory.subtract(List.of(new long[] {x.vaddr(), x.end()}), lazy);
    }

    /**
     * Whether the restore writes only the eager pages (those {@link #notLazy} meets): the daemon places the pre-dump
     * parents' pages too, and the process holds none of its parent's pages since the clone that it must drop or keep.
     */
    boolean writesOnlyEager() {
        return parentPagesLazy && inherited.isEmpty();
    }

    /** What is not lazy, in address order: outside the lazy mappings, and the eager pages inside them. */
    List<long[]> notLazy() {
        List<long[]> out = new ArrayList<>();
        long at = 0;
        for (long[] m : rule.mappings()) {
            if (m[0] > at) {
                out.add(new long[] {at, m[0]});
            }
            at = m[1];
        }
        out.add(new long[] {at, Long.MAX_VALUE});
        out.addAll(rule.eager());
        out.sort(Comparator.comparingLong(r -> r[0]));
        return out;
    }

    /**
     * Marks for registering each lazy mapping that any of the extents {@code xs} (address order) meets: where
     * {@link #toWrite} was not asked of every extent. A mapping met only by its eager pages is registered too; its
     * other pages the dump did not have, and the daemon answers their faults with zero pages, as the kernel would.
     */
    void registerWhereAny(List<PageSource.Extent> xs) {
        List<long[]> maps = rule.mappings();
        int i = 0;
        for (int m = 0; m < maps.size(); m++) {
            i = Runs.firstEndingAfter(xs, i, maps.get(m)[0], PageSource.Extent::end);
            if (i < xs.size() && xs.get(i).vaddr() < maps.get(m)[1]) {
                register[m] = true;
            }
        }
    }

    /** The parts of [start, end) where the process holds its parent's page since the clone. */
    List<long[]> inheritedPart(long start, long end) {
        return LazyMemory.clip(inherited, start, end);
    }

    /** The restore wrote [start, end) (calls come in address order). */
    void wrote(long start, long end) {
        if (!written.isEmpty() && written.getLast()[1] >= start) {
            written.getLast()[1] = Math.max(written.getLast()[1], end);
        } else {
            written.add(new long[] {start, end});
        }
    }

    /** Pages in place once the process is built: inherited (and not dropped) or written. */
    private List<long[]> present() {
        List<long[]> all = new ArrayList<>(LazyMemory.subtract(inherited, dropped));
        all.addAll(written);
        all.sort(Comparator.comparingLong(r -> r[0]));
        List<long[]> out = new ArrayList<>();
        for (long[] r : all) {
            if (!out.isEmpty() && out.getLast()[1] >= r[0]) {
                out.getLast()[1] = Math.max(out.getLast()[1], r[1]);
            } else {
                out.add(new long[] {r[0], r[1]});
            }
        }
        return out;
    }

    private void wantsRegistered(long start, long end) {
        List<long[]> maps = rule.mappings();
        int lo = 0;
        int hi = maps.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (maps.get(mid)[1] <= start) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (int i = lo; i < maps.size() && maps.get(i)[0] < end; i++) {
            register[i] = true;
        }
    }

    /** Creates the userfaultfd inside the process (puppet {@code p}, still with cryo's credentials) and takes it out. */
    void createUffd(Puppet p) {
        long fd = p.syscall("userfaultfd", Kernel.__NR_userfaultfd, Kernel.O_CLOEXEC | Kernel.O_NONBLOCK);
        try (Fd pidfd = Pidfd.open(p.pid())) {
            uffd = Pidfd.getFd(pidfd, (int) fd);
        } finally {
            p.closeFd((int) fd);
        }
        Uffd.api(uffd, Uffd.LAZY_FEATURES);
    }

    /**
     * Registers the mappings the daemon fills and hands the userfaultfd over, with a pidfd of the process
     * ({@code hostPid}, as cryo sees it); the restore must not touch the process's memory after this.
     */
    public void handOver(LazyHandoff to, int hostPid) {
        List<long[]> maps = rule.mappings();
        for (int i = 0; i < maps.size(); i++) {
            if (register[i]) {
                Uffd.registerMissing(uffd, maps.get(i)[0], maps.get(i)[1] - maps.get(i)[0]);
            }
        }
        try (Fd pidfd = Pidfd.open(hostPid)) {
            to.hand(pid, uffd, pidfd);
        }
    }

    /** Cryo's copy of the userfaultfd goes (the daemon holds its own, or none if the restore failed). */
    @Override
    public void close() {
        if (uffd != null) {
            uffd.close();
        }
    }
}
