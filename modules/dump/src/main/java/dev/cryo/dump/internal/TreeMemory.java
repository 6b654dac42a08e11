package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.IoVec;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.ProcessVm;

/**
 * The frozen tree's memory as a lazy dump serves it, read straight into the answer's buffer. The pages that
 * {@code /proc/PID/pagemap} marks as mapped by this process alone ({@code PM_MMAP_EXCLUSIVE}: nearly all of a
 * lazy range) are copied by process_vm_readv, one call per run of them: pinning such a page makes no page and
 * unshares none, and the call copies the whole run where pread of /proc/PID/mem walks and copies a page at a
 * time through a bounce page (it had been the dump side's largest cost, docs/benchmarks.md, lazy restore).
 * The other pages (shared copy-on-write with a forked relative, which a pin would unshare: DESIGN.md, "Not
 * process_vm_readv"; swapped out) and any page process_vm_readv refuses (EFAULT: a mapping without PROT_READ,
 * which /proc/PID/mem reads by force) go through /proc/PID/mem. Descriptors are opened per process on first use.
 */
final class TreeMemory implements AutoCloseable {
    /** A pagemap entry's bit: the page is mapped by this process alone (Documentation/admin-guide/mm/pagemap.rst). */
    private static final long PM_MMAP_EXCLUSIVE = 1L << 56;
    /** Pagemap entries read at once: a GET's answer is at most 4 MiB, 1024 pages. */
    private static final long ENTRIES = 1024;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment local = IoVec.allocateArray(arena, 1);
    private final MemorySegment remote = IoVec.allocateArray(arena, 1);
    private final MemorySegment entries = arena.allocate(ENTRIES * 8, 8);
    private final Map<Integer, Fd> mem = new HashMap<>();
    private final Map<Integer, Fd> pagemaps = new HashMap<>();
    private long forced;
    private long shared;

    /** Copies {@code into.byteSize()} bytes (whole pages) at page-aligned {@code vaddr} of process {@code pid} into {@code into}. */
    void read(int pid, long vaddr, MemorySegment into) {
        Fd pagemap = pagemaps.computeIfAbsent(pid, p -> Io.open("/proc/" + p + "/pagemap", Kernel.O_RDONLY));
        for (long at = 0; at < into.byteSize(); ) {
            long pages = Math.min(ENTRIES, (into.byteSize() - at) / Page.SIZE);
            long addr = vaddr + at;
            long got = Io.pread(pagemap.fd(), entries.asSlice(0, pages * 8), addr / Page.SIZE * 8);
            if (got != pages * 8) {
                throw new IllegalStateException(String.format("pid %d: the pagemap at 0x%x cannot be read", pid, addr));
            }
            for (long i = 0; i < pages; ) {
                boolean alone = alone(i);
                long j = i + 1;
                while (j < pages && alone(j) == alone) {
                    j++;
                }
                MemorySegment to = into.asSlice(at + i * Page.SIZE, (j - i) * Page.SIZE);
                if (alone) {
                    readAlone(pid, addr + i * Page.SIZE, to);
                } else {
                    pread(pid, addr + i * Page.SIZE, to);
                    shared += j - i;
                }
                i = j;
            }
            at += pages * Page.SIZE;
        }
    }

    private boolean alone(long i) {
        return (entries.getAtIndex(ValueLayout.JAVA_LONG, i) & PM_MMAP_EXCLUSIVE) != 0;
    }

    /** process_vm_readv of the run; a page it refuses is read through /proc/PID/mem and the rest tried again. */
    private void readAlone(int pid, long vaddr, MemorySegment into) {
        long size = into.byteSize();
        for (long done = 0; done < size; ) {
            long n;
            try {
                IoVec.set(local, 0, into.address() + done, size - done);
                IoVec.set(remote, 0, vaddr + done, size - done);
                n = ProcessVm.readv(pid, local, 1, remote, 1);
            } catch (ErrnoException e) {
                if (!e.is(Errno.EFAULT)) {
                    throw e;
                }
                n = 0;
            }
            if (n <= 0) {
                n = Page.SIZE;
                pread(pid, vaddr + done, into.asSlice(done, n));
                forced++;
            }
            done += n;
        }
    }

    /** Pages read through /proc/PID/mem because process_vm_readv refused them. */
    long forcedPages() {
        return forced;
    }

    /** Pages read through /proc/PID/mem because pagemap did not mark them as this process's alone. */
    long sharedPages() {
        return shared;
    }

    private void pread(int pid, long vaddr, MemorySegment into) {
        Fd fd = mem.computeIfAbsent(pid, p -> Io.open("/proc/" + p + "/mem", Kernel.O_RDONLY));
        for (long done = 0; done < into.byteSize(); ) {
            long n = Io.pread(fd.fd(), into.asSlice(done), vaddr + done);
            if (n <= 0) {
                throw new IllegalStateException(String.format("pid %d: its memory at 0x%x cannot be read", pid, vaddr + done));
            }
            done += n;
        }
    }

    @Override
    public void close() {
        mem.values().forEach(Fd::close);
        pagemaps.values().forEach(Fd::close);
        arena.close();
    }
}
