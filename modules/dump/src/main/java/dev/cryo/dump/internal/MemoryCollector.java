package dev.cryo.dump.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.bindings.Linux;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagepipe.PageRange;
import dev.cryo.pagepipe.PresentPages;
import dev.cryo.pagepipe.ReadCollector;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.parasite.Parasite;
import dev.cryo.syscalls.Proc;

/** The memory of one process: mm_entry with its VMAs, and the private pages into pagemap + pages images. */
final class MemoryCollector {
    private MemoryCollector() {}

    static MmEntry mm(int pid, List<Vma> vmas, FileTable files, Parasite parasite) {
        Proc.Stat s = Proc.stat(pid);
        long brk = parasite.syscall("brk", Linux.__NR_brk(), 0);
        int dumpable = (int) parasite.syscall("prctl(PR_GET_DUMPABLE)", Linux.__NR_prctl(), Linux.PR_GET_DUMPABLE());
        String exe = dev.cryo.syscalls.Io.readlink("/proc/" + pid + "/exe");
        MmEntry.Builder mm = MmEntry.newBuilder()
                .setMmStartCode(s.longField(26)).setMmEndCode(s.longField(27))
                .setMmStartStack(s.longField(28))
                .setMmStartData(s.longField(45)).setMmEndData(s.longField(46))
                .setMmStartBrk(s.longField(47)).setMmBrk(brk)
                .setMmArgStart(s.longField(48)).setMmArgEnd(s.longField(49))
                .setMmEnvStart(s.longField(50)).setMmEnvEnd(s.longField(51))
                .setExeFileId(files.pathId(exe, Linux.O_RDONLY()))
                .setDumpable(dumpable);
        ByteBuffer auxv = ByteBuffer.wrap(Proc.readBytes(pid, "auxv")).order(ByteOrder.LITTLE_ENDIAN);
        while (auxv.remaining() >= 8) {
            mm.addMmSavedAuxv(auxv.getLong());
        }
        for (Vma v : vmas) {
            mm.addVmas(vmaEntry(v, files));
        }
        return mm.build();
    }

    private static VmaEntry vmaEntry(Vma v, FileTable files) {
        VmaEntry.Builder e = VmaEntry.newBuilder().setStart(v.start()).setEnd(v.end()).setPgoff(v.pgoff())
                .setProt(v.prot()).setFlags(v.flags()).setStatus(v.status()).setFd(-1).setShmid(0);
        if (v.is(Vma.FILE_PRIVATE) || v.is(Vma.FILE_SHARED)) {
            boolean writable = v.is(Vma.FILE_SHARED) && (v.prot() & Linux.PROT_WRITE()) != 0;
            int flags = writable ? Linux.O_RDWR() : Linux.O_RDONLY();
            e.setShmid(files.pathId(v.path(), flags)).setFdflags(flags);
        } else if (v.is(Vma.ANON_SHARED)) {
            e.setShmid(v.inode());
        }
        return e.build();
    }

    /** The ranges of private pages to write, and how many pages of dumpable mappings were looked at. */
    record Plan(List<PageRange> ranges, long scanned, long present) {}

    static Plan plan(int pid, List<Vma> vmas) {
        List<PageRange> ranges = new ArrayList<>();
        long scanned = 0;
        try (PresentPages present = new PresentPages(pid)) {
            for (Vma v : vmas) {
                if (v.hasDumpablePages()) {
                    scanned += v.pages();
                    present.privatePages(v.start(), v.end(), ranges);
                }
            }
        }
        long pages = ranges.stream().mapToLong(PageRange::pages).sum();
        return new Plan(ranges, scanned, pages);
    }

    /** Writes the process's pages to {@code sink}: the ranges in order, each page once. */
    static ReadCollector.Result writePages(int pid, Plan plan, PageSink sink, ReadCollector collector,
                                           Runnable checkpoint, PageProgress progress) throws Exception {
        sink.begin(plan.ranges().stream().map(r -> new PageSink.Run(r.start(), r.pages())).toList());
        ReadCollector.Result result = collector.collect(pid, plan.ranges(), batch -> {
            MemorySegment data = batch.data();
            sink.write(data);
            progress.add(data.byteSize() / PageRange.PAGE_SIZE);
        }, checkpoint);
        sink.commit();
        return result;
    }

    /** Counts pages written across the dump, for progress reports. */
    interface PageProgress {
        void add(long pages);
    }
}
