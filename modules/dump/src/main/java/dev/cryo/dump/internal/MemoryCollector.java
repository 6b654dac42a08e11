package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagepipe.PageRange;
import dev.cryo.pagepipe.PageRanges;
import dev.cryo.pagepipe.PresentPages;
import dev.cryo.pagepipe.ReadCollector;
import dev.cryo.pagepipe.SpliceStream;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.parasite.Parasite;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Proc;

/** The memory of one process: mm_entry with its VMAs, and the private pages into pagemap + pages images. */
final class MemoryCollector {
    private MemoryCollector() {}

    static MmEntry mm(int pid, List<Vma> vmas, FileTable files, long brk, int dumpable, Arena arena) throws DumpException {
        Proc.Stat s = Proc.stat(pid);
        String exe = dev.cryo.syscalls.Io.readlink("/proc/" + pid + "/exe");
        MmEntry.Builder mm = MmEntry.newBuilder()
                .setMmStartCode(s.longField(26)).setMmEndCode(s.longField(27))
                .setMmStartStack(s.longField(28))
                .setMmStartData(s.longField(45)).setMmEndData(s.longField(46))
                .setMmStartBrk(s.longField(47)).setMmBrk(brk)
                .setMmArgStart(s.longField(48)).setMmArgEnd(s.longField(49))
                .setMmEnvStart(s.longField(50)).setMmEnvEnd(s.longField(51))
                .setExeFileId(files.pathId(exe, Kernel.O_RDONLY))
                .setDumpable(dumpable);
        ByteBuffer auxv = ByteBuffer.wrap(Proc.readBytes(pid, "auxv")).order(ByteOrder.LITTLE_ENDIAN);
        while (auxv.remaining() >= 8) {
            mm.addMmSavedAuxv(auxv.getLong());
        }
        for (Vma v : vmas) {
            mm.addVmas(vmaEntry(pid, v, files, arena));
        }
        return mm.build();
    }

    private static VmaEntry vmaEntry(int pid, Vma v, FileTable files, Arena arena) throws DumpException {
        VmaEntry.Builder e = VmaEntry.newBuilder().setStart(v.start()).setEnd(v.end()).setPgoff(v.pgoff()).setMadv(v.madvise())
                .setProt(v.prot()).setFlags(v.flags()).setStatus(v.status()).setFd(-1).setShmid(0);
        if (v.is(Vma.FILE_PRIVATE) || v.is(Vma.FILE_SHARED)) {
            int flags = v.is(Vma.FILE_SHARED) && v.mayWrite() ? Kernel.O_RDWR : Kernel.O_RDONLY;
            // A memfd has no path to open again: the mapping names its memfd file, as CRIU's images do.
            int id = v.is(Vma.MEMFD) ? MemfdDumper.mappingId(files, arena, pid, v, flags) : files.pathId(v.path(), flags);
            e.setShmid(id).setFdflags(flags);
            if (v.is(Vma.FILE_SHARED) && KeptFiles.wanted(pid, v.path())) {
                KeptFiles.keep(files, arena, id, v.path());
            }
        } else if (v.is(Vma.ANON_SHARED)) {
            e.setShmid(v.inode());
        }
        return e.build();
    }

    /**
     * What to do with one process's pages: {@code runs} is its pagemap (address order), {@code ranges} the
     * pages to copy (the runs not in the parent), {@code scanned} the pages of dumpable mappings looked at.
     */
    record Plan(List<PageSink.Run> runs, List<PageRange> ranges, long scanned, long present, long inParent) {}

    static Plan plan(int pid, List<Vma> vmas) {
        return plan(pid, vmas, null, List.of(), List.of());
    }

    /**
     * Registers with the tracker every dumpable mapping it does not follow yet (new ones, ones moved by
     * mremap, all of them when the tracker is new). Only while the task is stopped: a whole mapping must be
     * registered, never a part (that would split it under the running task). Returns the ranges registered.
     */
    static List<PageRange> registerUntracked(List<Vma> vmas, TaskTracker tracker) {
        List<PageRange> registered = new ArrayList<>();
        for (Vma v : vmas) {
            if (v.hasDumpablePages() && (tracker.fresh() || !tracker.isTracked(v.start(), v.end()))
                    && tracker.register(v.start(), v.end())) {
                registered.add(new PageRange(v.start(), v.pages()));
            }
        }
        return registered;
    }

    /**
     * With a {@code tracker}, a present page that was not written since the previous snapshot, and that the
     * previous snapshot holds ({@code parentHolds}, sorted), is left in the parent; everything else is copied.
     * Mappings registered just now ({@code registered}) and those the tracker does not follow are copied
     * whole. May run while the task runs: each page is re-protected before it is copied, so a write after
     * the scan is seen by the next step, and a write before it is in the copy.
     */
    static Plan plan(int pid, List<Vma> vmas, TaskTracker tracker, List<PageRange> parentHolds, List<PageRange> registered) {
        List<PageRange> present = new ArrayList<>();
        List<PageRange> unchanged = new ArrayList<>();
        long scanned = 0;
        try (PresentPages pp = new PresentPages(pid)) {
            for (Vma v : vmas) {
                if (!v.hasDumpablePages()) {
                    continue;
                }
                scanned += v.pages();
                List<PageRange> here = new ArrayList<>();
                if (v.is(Vma.ANON_PRIVATE)) {
                    pp.anonymousPages(v.start(), v.end(), here);
                } else {
                    pp.privatePages(v.start(), v.end(), here);
                }
                present.addAll(here);
                if (tracker == null) {
                    continue;
                }
                List<PageRange> written = new ArrayList<>();
                boolean tracked = tracker.written(v.start(), v.end(), written);
                if (tracked && !registered.contains(new PageRange(v.start(), v.pages()))) {
                    unchanged.addAll(PageRanges.subtract(here, written));
                }
            }
        }
        present = merged(present);
        List<PageRange> inParent = PageRanges.intersect(merged(unchanged), parentHolds);
        List<PageRange> copy = PageRanges.subtract(present, inParent);
        List<PageSink.Run> runs = runs(copy, inParent);
        return new Plan(runs, copy, scanned, PageRanges.pages(copy), PageRanges.pages(inParent));
    }

    /**
     * A plan for a dump with {@code --lazy-pages}: of the pages to copy, those {@code rule} lets be lazy are left
     * out ({@code PE_LAZY} runs, no bytes) and returned in {@code lazy}; the rest are copied as before.
     */
    record LazyPlan(Plan eager, List<PageRange> lazy) {}

    static LazyPlan leaveLazy(Plan plan, dev.cryo.pagexfer.LazyMemory rule) {
        List<PageRange> lazy = new ArrayList<>();
        List<PageRange> copy = new ArrayList<>();
        for (PageRange r : plan.ranges()) {
            if (rule.allLazy(r.start(), r.end())) { // most ranges, found without a list made: the tree is frozen
                PageRanges.append(lazy, r.start(), r.end());
                continue;
            }
            for (long[] l : rule.lazyPart(r.start(), r.end())) {
                PageRanges.append(lazy, l[0], l[1]);
            }
            for (long[] e : rule.eagerPart(r.start(), r.end())) {
                PageRanges.append(copy, e[0], e[1]);
            }
        }
        List<PageRange> inParent = new ArrayList<>();
        plan.runs().stream().filter(PageSink.Run::inParent)
                .forEach(r -> PageRanges.append(inParent, r.vaddr(), r.end()));
        List<PageSink.Run> runs = new ArrayList<>();
        int i = 0;
        int j = 0;
        int k = 0;
        while (i < copy.size() || j < inParent.size() || k < lazy.size()) {
            long a = i < copy.size() ? copy.get(i).start() : Long.MAX_VALUE;
            long b = j < inParent.size() ? inParent.get(j).start() : Long.MAX_VALUE;
            long c = k < lazy.size() ? lazy.get(k).start() : Long.MAX_VALUE;
            if (a <= b && a <= c) {
                runs.add(new PageSink.Run(copy.get(i).start(), copy.get(i++).pages()));
            } else if (b <= c) {
                runs.add(new PageSink.Run(inParent.get(j).start(), inParent.get(j++).pages(), true));
            } else {
                runs.add(new PageSink.Run(lazy.get(k).start(), lazy.get(k++).pages(), dev.cryo.images.PagemapFlags.PE_LAZY));
            }
        }
        Plan eager = new Plan(runs, copy, plan.scanned(), PageRanges.pages(copy), plan.inParent());
        return new LazyPlan(eager, lazy);
    }

    /** The pagemap of a plan: the copied ranges and those left in the parent snapshot, in address order. */
    static List<PageSink.Run> runs(List<PageRange> copy, List<PageRange> inParent) {
        List<PageSink.Run> runs = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < copy.size() || j < inParent.size()) {
            boolean takeCopy = j >= inParent.size() || (i < copy.size() && copy.get(i).start() < inParent.get(j).start());
            PageRange r = takeCopy ? copy.get(i++) : inParent.get(j++);
            runs.add(new PageSink.Run(r.start(), r.pages(), !takeCopy));
        }
        return runs;
    }

    /** Joins ranges that touch (pages of adjacent mappings). */
    private static List<PageRange> merged(List<PageRange> ranges) {
        return PageRanges.intersect(ranges, List.of(new PageRange(0, Long.MAX_VALUE / Page.SIZE / 2)));
    }

    /** The pages the previous snapshot holds for {@code pid}, directly or through its parents, wherever it is. */
    static List<PageRange> held(dev.cryo.pagexfer.PageDestination pages, int pid) {
        return pages.parentHolds(pid).stream()
                .map(r -> new PageRange(r[0], (r[1] - r[0]) / Page.SIZE)).toList();
    }

    /** Writes the process's pages to {@code sink}: the ranges in order, each page once. */
    static ReadCollector.Result writePages(int pid, Plan plan, PageSink sink, ReadCollector collector,
                                           Runnable checkpoint, PageProgress progress) throws Exception {
        sink.begin(plan.runs());
        ReadCollector.Result result = collector.collect(pid, plan.ranges(), batch -> {
            MemorySegment data = batch.data();
            sink.write(data);
            progress.add(data.byteSize() / Page.SIZE);
        }, checkpoint);
        sink.commit();
        return result;
    }

    /** Bytes of a process from which its pages go through two pipes (see SpliceStream), not one. */
    private static final long OVERLAP_FROM = 4L << 20;

    /**
     * Writes the process's pages to {@code sink} the splice way (returns where the time went, for the log): the
     * process, stopped and still infected by
     * {@code parasite}, vmsplices its pages into a pipe of its own, and they are spliced on from there. The
     * process must stay stopped until the destination has confirmed them (see {@link SpliceStream}): the
     * frozen tree is released only after {@code PageDestination.commit}.
     */
    static String splicePages(Parasite parasite, Plan plan, PageSink sink, Runnable checkpoint,
                              PageProgress progress) throws Exception {
        sink.begin(plan.runs());
        // two pipes for a process of more than a few pipe-fulls: one is filled while the other is moved on
        int pipes = plan.present() * Page.SIZE > OVERLAP_FROM ? 2 : 1;
        try (SpliceStream stream = SpliceStream.open(parasite, pipes)) {
            stream.stream(plan.ranges(), new SpliceStream.Target() {
                @Override
                public void fromPipe(dev.cryo.syscalls.Fd pipe, long bytes) {
                    sink.writeFromPipe(pipe, bytes);
                    progress.add(bytes / Page.SIZE);
                }

                @Override
                public void write(MemorySegment data) {
                    sink.write(data);
                    progress.add(data.byteSize() / Page.SIZE);
                }
            }, checkpoint);
            sink.commit();
            return String.format("%d vmsplice calls %.1f ms, out of the pipe %.1f ms, waited for a pipe %.1f ms", stream.vmspliceCalls(),
                    stream.vmspliceNanos() / 1e6, stream.outNanos() / 1e6, stream.waitNanos() / 1e6);
        }
    }

    /** Counts pages written across the dump, for progress reports. */
    interface PageProgress {
        void add(long pages);
    }
}
