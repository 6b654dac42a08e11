package dev.cryo.restore.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.prctl_mm_map;
import dev.cryo.images.ImageStore;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.syscalls.Proc;

/**
 * Builds a task's address space inside a puppet: the stub's mappings go, the dumped ones are mapped at
 * their addresses, filled from the pages image, protected, and the vDSO group moves to where it was.
 */
final class MemoryRestore {
    private static final long TASK_TOP = 0x7ffffffff000L;
    private static final long SEARCH_FROM = 0x100000;

    private MemoryRestore() {}

    /** One line of /proc/PID/maps. */
    record Mapping(long start, long end, String name) {
        long size() {
            return end - start;
        }

        boolean isVdsoGroup() {
            return name.equals("[vdso]") || name.equals("[vvar]") || name.equals("[vvar_vclock]");
        }
    }

    static List<Mapping> maps(int pid) {
        List<Mapping> out = new ArrayList<>();
        for (String line : Proc.read(pid, "maps").split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\\s+", 6);
            int dash = f[0].indexOf('-');
            out.add(new Mapping(Long.parseUnsignedLong(f[0].substring(0, dash), 16),
                    Long.parseUnsignedLong(f[0].substring(dash + 1), 16), f.length > 5 ? f[5].trim() : ""));
        }
        return out;
    }

    /** The span of the puppet's vDSO group, from its first piece to the end of its last. */
    static long vdsoSpan(List<Mapping> puppet) {
        List<Mapping> g = puppet.stream().filter(Mapping::isVdsoGroup).toList();
        return g.isEmpty() ? 0 : g.getLast().end() - g.getFirst().start();
    }

    /**
     * An address for {@code size} bytes that neither the dumped task nor the puppet uses: the trampoline
     * (and the vDSO's waiting room after it) must survive every unmap and map of the restore.
     */
    static long freeArea(List<VmaEntry> dumped, List<Mapping> puppet, long size) {
        List<long[]> used = new ArrayList<>();
        dumped.forEach(v -> used.add(new long[] {v.getStart(), v.getEnd()}));
        puppet.forEach(m -> used.add(new long[] {m.start(), m.end()}));
        used.sort(Comparator.comparingLong(a -> a[0]));
        long at = SEARCH_FROM;
        for (long[] u : used) {
            if (at + size <= u[0]) {
                return at;
            }
            at = Math.max(at, u[1]);
        }
        if (at + size <= TASK_TOP) {
            return at;
        }
        throw new IllegalStateException("no free address range of " + size + " bytes for the restorer's trampoline");
    }

    /** Moves the puppet's vDSO group to {@code to}, keeping its layout. */
    static void parkVdso(Puppet p, List<Mapping> puppet, long to) {
        List<Mapping> g = puppet.stream().filter(Mapping::isVdsoGroup).toList();
        if (g.isEmpty()) {
            return;
        }
        long base = g.getFirst().start();
        for (Mapping m : g) {
            remap(p, m.start(), m.size(), to + (m.start() - base));
        }
    }

    private static void remap(Puppet p, long from, long size, long to) {
        if (from == to) {
            return;
        }
        p.syscall("mremap(0x" + Long.toHexString(from) + " -> 0x" + Long.toHexString(to) + ")", Linux.__NR_mremap(),
                from, size, size, Linux.MREMAP_MAYMOVE() | Linux.MREMAP_FIXED(), to);
    }

    /** Unmaps every mapping of the puppet but the trampoline and the parked vDSO group. */
    static void clearPuppet(Puppet p, long keepFrom, long keepTo) {
        for (Mapping m : maps(p.pid())) {
            if (m.name().equals("[vsyscall]") || (m.start() >= keepFrom && m.end() <= keepTo)) {
                continue;
            }
            p.syscall("munmap(" + m.name() + ")", Linux.__NR_munmap(), m.start(), m.size());
        }
    }

    /** Maps every dumped VMA but the vDSO group, writable until its pages are in. */
    static void mapVmas(Puppet p, MmEntry mm, Map<Integer, String> paths) {
        for (VmaEntry v : mm.getVmasList()) {
            int status = v.getStatus();
            if ((status & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR | VmaStatus.VMA_AREA_VSYSCALL)) != 0) {
                continue;
            }
            if ((status & VmaStatus.VMA_AREA_REGULAR) == 0) {
                throw new IllegalStateException("mapping 0x" + Long.toHexString(v.getStart()) + " has status 0x"
                        + Integer.toHexString(status) + ", which restore does not handle yet");
            }
            long len = v.getEnd() - v.getStart();
            int prot = v.getProt() | Linux.PROT_WRITE();
            int flags = (v.getFlags() & (Linux.MAP_SHARED() | Linux.MAP_PRIVATE() | Linux.MAP_ANONYMOUS()
                    | Linux.MAP_NORESERVE() | Linux.MAP_GROWSDOWN())) | Linux.MAP_FIXED();
            if ((status & (VmaStatus.VMA_FILE_PRIVATE | VmaStatus.VMA_FILE_SHARED)) != 0) {
                String path = paths.get((int) v.getShmid());
                if (path == null) {
                    throw new IllegalStateException("mapping 0x" + Long.toHexString(v.getStart()) + " names file id "
                            + v.getShmid() + ", which files.img does not hold");
                }
                boolean shared = (status & VmaStatus.VMA_FILE_SHARED) != 0;
                if (shared) {
                    prot = v.getProt(); // a shared file mapping has no private pages to fill
                }
                int fd = openInTask(p, path, v.hasFdflags() ? v.getFdflags() : Linux.O_RDONLY());
                try {
                    p.syscall("mmap(" + path + ")", Linux.__NR_mmap(), v.getStart(), len, prot, flags & ~Linux.MAP_ANONYMOUS(), fd, v.getPgoff());
                } finally {
                    p.syscall("close", Linux.__NR_close(), fd);
                }
            } else {
                p.syscall("mmap(anonymous 0x" + Long.toHexString(v.getStart()) + ")", Linux.__NR_mmap(),
                        v.getStart(), len, prot, flags | Linux.MAP_ANONYMOUS(), -1, 0);
            }
        }
    }

    /** Opens {@code path} inside the task (the path goes through scratch memory); returns the task's fd. */
    static int openInTask(Puppet p, String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
            MemorySegment s = a.allocate(bytes.length + 1L);
            s.copyFrom(MemorySegment.ofArray(bytes));
            p.writeScratch(Puppet.SCRATCH_SIZE - 8192, s);
            return (int) p.syscall("openat(" + path + ")", Linux.__NR_openat(), Linux.AT_FDCWD(),
                    p.scratch() + Puppet.SCRATCH_SIZE - 8192, flags | Linux.O_CLOEXEC(), 0);
        }
    }

    /** Copies the private pages from the pages image into the task, in pagemap order; returns how many. */
    static long fillPages(Puppet p, ImageStore store, TreeImages.ProcessImages img) {
        String name = img.pagesFile();
        Path file = store.pathOf(name).orElseThrow(() -> new IllegalStateException(name + " is not in a directory"));
        long pages = 0;
        try (Arena a = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment data = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, a);
            long offset = 0;
            for (PagemapEntry e : img.pagemap()) {
                long len = e.getNrPages() * Puppet.PAGE;
                if (offset + len > size) {
                    throw new IllegalStateException(name + " is truncated at offset " + size + " (expected "
                            + (offset + len - size) + " more bytes)");
                }
                p.write(e.getVaddr(), data.asSlice(offset, len));
                offset += len;
                pages += e.getNrPages();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return pages;
    }

    /** Gives every mapping its dumped protection (they were writable while being filled). */
    static void protect(Puppet p, MmEntry mm) {
        for (VmaEntry v : mm.getVmasList()) {
            if ((v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR)) != 0) {
                continue;
            }
            p.syscall("mprotect(0x" + Long.toHexString(v.getStart()) + ")", Linux.__NR_mprotect(),
                    v.getStart(), v.getEnd() - v.getStart(), v.getProt());
        }
    }

    /** Moves the parked vDSO group to the dumped addresses; its pieces must match the dump's. */
    static void placeVdso(Puppet p, MmEntry mm, List<Mapping> puppet, long parkedAt) {
        List<Mapping> g = puppet.stream().filter(Mapping::isVdsoGroup).toList();
        List<VmaEntry> dumped = mm.getVmasList().stream()
                .filter(v -> (v.getStatus() & (VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR)) != 0).toList();
        if (dumped.isEmpty()) {
            return;
        }
        boolean same = g.size() == dumped.size();
        for (int i = 0; same && i < g.size(); i++) {
            same = g.get(i).size() == dumped.get(i).getEnd() - dumped.get(i).getStart()
                    && g.get(i).start() - g.getFirst().start() == dumped.get(i).getStart() - dumped.getFirst().getStart();
        }
        if (!same) {
            throw new IllegalStateException("this kernel's vDSO/vvar layout " + describe(g)
                    + " differs from the dump's; restore on the kernel the dump was made on");
        }
        long base = g.getFirst().start();
        for (int i = 0; i < g.size(); i++) {
            remap(p, parkedAt + (g.get(i).start() - base), g.get(i).size(), dumped.get(i).getStart());
        }
    }

    private static String describe(List<Mapping> g) {
        return g.stream().map(m -> m.name() + " " + m.size() / Puppet.PAGE + "p").toList().toString();
    }

    /** prctl(PR_SET_MM, PR_SET_MM_MAP): code/data/brk/stack/args/env bounds, auxv, and the executable. */
    static void setMmMap(Puppet p, MmEntry mm, String exe) {
        // A child cloned from its restored parent has the executable already; the kernel refuses (EBUSY) to
        // replace an exe_file that is still mapped, even by itself, so it is left as it is.
        boolean same = exe.equals(dev.cryo.syscalls.Io.readlink("/proc/" + p.pid() + "/exe"));
        int exeFd = same ? -1 : openInTask(p, exe, Linux.O_RDONLY());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment auxv = a.allocate(ValueLayout.JAVA_LONG, Math.max(1, mm.getMmSavedAuxvCount()));
            for (int i = 0; i < mm.getMmSavedAuxvCount(); i++) {
                auxv.setAtIndex(ValueLayout.JAVA_LONG, i, mm.getMmSavedAuxv(i));
            }
            long auxvAt = 1024;
            p.writeScratch(auxvAt, auxv);
            MemorySegment m = prctl_mm_map.allocate(a);
            prctl_mm_map.start_code(m, mm.getMmStartCode());
            prctl_mm_map.end_code(m, mm.getMmEndCode());
            prctl_mm_map.start_data(m, mm.getMmStartData());
            prctl_mm_map.end_data(m, mm.getMmEndData());
            prctl_mm_map.start_brk(m, mm.getMmStartBrk());
            prctl_mm_map.brk(m, mm.getMmBrk());
            prctl_mm_map.start_stack(m, mm.getMmStartStack());
            prctl_mm_map.arg_start(m, mm.getMmArgStart());
            prctl_mm_map.arg_end(m, mm.getMmArgEnd());
            prctl_mm_map.env_start(m, mm.getMmEnvStart());
            prctl_mm_map.env_end(m, mm.getMmEnvEnd());
            prctl_mm_map.auxv(m, MemorySegment.ofAddress(p.scratch() + auxvAt));
            prctl_mm_map.auxv_size(m, mm.getMmSavedAuxvCount() * 8);
            prctl_mm_map.exe_fd(m, exeFd);
            p.writeScratch(0, m);
            p.syscall("prctl(PR_SET_MM_MAP)", Linux.__NR_prctl(), Linux.PR_SET_MM(), Linux.PR_SET_MM_MAP(),
                    p.scratch(), prctl_mm_map.sizeof(), 0);
        } finally {
            if (exeFd >= 0) {
                p.syscall("close", Linux.__NR_close(), exeFd);
            }
        }
    }
}
