package dev.cryo.dump.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.ProcMaps;

/**
 * One mapping of a task as {@code /proc/PID/smaps} shows it (read by {@link ProcMaps}, the one parser of
 * maps in cryo), classified the way CRIU's images record it.
 *
 * @param status CRIU's VMA_AREA_* / VMA_*_PRIVATE / VMA_*_SHARED bits
 */
record Vma(long start, long end, long pgoff, int prot, int flags, int status, String path, long inode, String dev,
           Set<String> vmFlags) {

    // CRIU's vma status bits (criu/include/image.h).
    static final int REGULAR = 1;
    static final int STACK = 1 << 1;
    static final int VSYSCALL = 1 << 2;
    static final int VDSO = 1 << 3;
    static final int HEAP = 1 << 5;
    static final int FILE_PRIVATE = 1 << 6;
    static final int FILE_SHARED = 1 << 7;
    static final int ANON_SHARED = 1 << 8;
    static final int ANON_PRIVATE = 1 << 9;
    static final int SYSVIPC = 1 << 10;
    static final int VVAR = 1 << 12;
    static final int MEMFD = 1 << 14;

    boolean is(int bit) {
        return (status & bit) != 0;
    }

    boolean isPrivate() {
        return (flags & Kernel.MAP_PRIVATE) != 0;
    }

    /** Private memory whose pages a dump writes: anonymous private, and the copied-on-write pages of private file maps. */
    boolean hasDumpablePages() {
        return is(REGULAR) && isPrivate() && !is(VDSO) && !is(VVAR) && !vmFlags.contains("io") && !vmFlags.contains("pf");
    }

    /**
     * Whether the mapping may be made writable (VmFlags "mw", VM_MAYWRITE): for a shared file mapping, the
     * file was opened for writing, so restore opens it O_RDWR, as CRIU does; a read-only shared mapping of
     * a writable opening can be mprotect()ed writable, one of a read-only opening cannot. Without VmFlags
     * (read from maps), its protection says.
     */
    boolean mayWrite() {
        return vmFlags.isEmpty() ? (prot & Kernel.PROT_WRITE) != 0 : vmFlags.contains("mw");
    }

    /**
     * The madvise() advice the mapping carries, as CRIU records it: bit n set for advice n. smaps names
     * them in VmFlags: hg/nh huge pages, dd don't dump, dc don't fork, wf wipe on fork, mg mergeable,
     * sr/rr sequential/random reads.
     */
    long madvise() {
        long m = 0;
        m |= advice("hg", Kernel.MADV_HUGEPAGE) | advice("nh", Kernel.MADV_NOHUGEPAGE) | advice("dd", Kernel.MADV_DONTDUMP)
                | advice("dc", Kernel.MADV_DONTFORK) | advice("wf", Kernel.MADV_WIPEONFORK) | advice("mg", Kernel.MADV_MERGEABLE)
                | advice("sr", Kernel.MADV_SEQUENTIAL) | advice("rr", Kernel.MADV_RANDOM);
        return m;
    }

    private long advice(String flag, int advice) {
        return vmFlags.contains(flag) ? 1L << advice : 0;
    }

    long pages() {
        return (end - start) / Page.SIZE;
    }

    /**
     * The mappings of {@code pid}, in address order, without {@code [vsyscall]}: each classified as smaps
     * gives it, so that no more than the Vma of a mapping is kept (60,000 mappings).
     */
    static List<Vma> read(int pid) {
        List<Vma> out = new ArrayList<>();
        Map<String, Set<String>> distinct = new HashMap<>();
        ProcMaps.each(pid, "smaps", "VmFlags", (m, flags) -> {
            if (!m.name().equals("[vsyscall]")) {
                out.add(of(m, flags == null ? Set.of() : distinct.computeIfAbsent(flags, Flags::set)));
            }
        });
        return out;
    }

    /**
     * The mappings of {@code pid} read from smaps while it still runs ({@link #read(int, Ahead)} checks them
     * once it is frozen), with its locked size ({@code VmLck} of its status), which an mlock() or munlock() of a
     * whole mapping changes where the mappings' lines do not.
     */
    record Ahead(List<Vma> vmas, String locked) {}

    /** {@code pid}'s mappings read ahead of its freeze: smaps' walk of its page tables, which grows with its memory, off the frozen time. */
    static Ahead readAhead(int pid) {
        String locked = Proc.status(pid, "VmLck");
        return new Ahead(read(pid), locked);
    }

    /**
     * The mappings of the frozen {@code pid}: those read {@code ahead} (may be null) when {@code /proc/PID/maps} still
     * lists them line for line (start, end, protection, sharing, offset, device, inode, name) and its locked size is
     * the same, else smaps read now. maps takes microseconds where smaps of 2 GiB takes some 16 ms of the kernel's
     * time. What the check cannot see: a madvise() of exactly one whole mapping (huge pages, don't fork, wipe on fork,
     * mergeable, don't dump, sequential or random reads) between the read ahead and the freeze, which changes its
     * VmFlags and not its line: that mapping's advice is restored as it was before.
     */
    static List<Vma> read(int pid, Ahead ahead) {
        if (ahead != null && ahead.locked() != null && ahead.locked().equals(Proc.status(pid, "VmLck"))) {
            List<Vma> was = ahead.vmas();
            int[] at = {0};
            boolean[] same = {true};
            ProcMaps.each(pid, "maps", null, (m, unused) -> {
                if (same[0] && !m.name().equals("[vsyscall]")) {
                    same[0] = at[0] < was.size() && was.get(at[0]).lists(m);
                    at[0]++;
                }
            });
            if (same[0] && at[0] == was.size()) {
                return was;
            }
        }
        return read(pid);
    }

    /** Whether {@code m}, a line of maps, is this mapping's. */
    private boolean lists(ProcMaps.Mapping m) {
        int p = (m.readable() ? Kernel.PROT_READ : 0) | (m.writable() ? Kernel.PROT_WRITE : 0) | (m.executable() ? Kernel.PROT_EXEC : 0);
        return m.start() == start && m.end() == end && m.offset() == pgoff && p == prot && m.shared() == !isPrivate()
                && m.inode() == inode && m.dev().equals(dev) && m.name().equals(path);
    }

    /**
     * The mappings as {@code /proc/PID/maps} shows them: no VmFlags, but no page-table walk either, so it takes
     * microseconds where smaps of a 1 GiB process takes tens of milliseconds (a pre-dump reads it frozen).
     * Device mappings, whose VM_IO/VM_PFNMAP flags maps does not show, are marked as such by their path.
     */
    static List<Vma> readMaps(int pid) {
        List<Vma> out = new ArrayList<>();
        for (Vma v : parse(Proc.read(pid, "maps"))) {
            boolean device = v.path().startsWith("/dev/") && !v.path().startsWith("/dev/zero") && !v.path().startsWith("/dev/shm/");
            out.add(device ? new Vma(v.start(), v.end(), v.pgoff(), v.prot(), v.flags(), v.status(), v.path(), v.inode(),
                    v.dev(), Set.of("io")) : v);
        }
        return out;
    }

    /** The mappings of maps or smaps {@code text}, each with its VmFlags (smaps only), less {@code [vsyscall]}. */
    private static List<Vma> parse(String text) {
        Flags flags = new Flags();
        return classify(ProcMaps.parse(text, "VmFlags", flags), flags);
    }

    private static List<Vma> classify(List<ProcMaps.Mapping> maps, Flags flags) {
        List<Vma> out = new ArrayList<>(maps.size());
        for (ProcMaps.Mapping m : maps) {
            if (!m.name().equals("[vsyscall]")) {
                out.add(of(m, flags.of(m)));
            }
        }
        return out;
    }

    /**
     * Each mapping's VmFlags, as smaps lists them. Tens of thousands of mappings share a handful of
     * combinations: each combination is one set, so that cryo's memory does not grow with the mappings' count.
     */
    private static final class Flags implements ProcMaps.Details {
        private final Map<Long, Set<String>> byStart = new HashMap<>();
        private final Map<String, Set<String>> distinct = new HashMap<>();

        @Override
        public void detail(ProcMaps.Mapping of, String key, String value) {
            byStart.put(of.start(), distinct.computeIfAbsent(value, Flags::set));
        }

        /** The flags of a VmFlags line. */
        static Set<String> set(String line) {
            return Set.of(line.split("\\s+"));
        }

        Set<String> of(ProcMaps.Mapping m) {
            return byStart.getOrDefault(m.start(), Set.of());
        }
    }

    /** {@code m} classified as CRIU's images record it: protection, mmap flags and status bits. */
    private static Vma of(ProcMaps.Mapping m, Set<String> vmFlags) {
        String path = m.name();
        int prot = (m.readable() ? Kernel.PROT_READ : 0) | (m.writable() ? Kernel.PROT_WRITE : 0)
                | (m.executable() ? Kernel.PROT_EXEC : 0);
        boolean shared = m.shared();
        int flags = shared ? Kernel.MAP_SHARED : Kernel.MAP_PRIVATE;
        int status = REGULAR;
        if (vmFlags.contains("gd")) {
            flags |= Kernel.MAP_GROWSDOWN;
        }
        if (vmFlags.contains("nr")) {
            flags |= Kernel.MAP_NORESERVE;
        }
        if (vmFlags.contains("lo")) {
            flags |= Kernel.MAP_LOCKED; // mlock()ed, as CRIU records VM_LOCKED
        }
        switch (path) {
            case "[vdso]" -> {
                status |= VDSO | ANON_PRIVATE;
                flags |= Kernel.MAP_ANONYMOUS;
            }
            case "[vvar]", "[vvar_vclock]" -> {
                status |= VVAR | ANON_PRIVATE;
                flags |= Kernel.MAP_ANONYMOUS;
            }
            case "[stack]" -> {
                status |= STACK | ANON_PRIVATE;
                flags |= Kernel.MAP_ANONYMOUS;
            }
            case "[heap]" -> {
                status |= HEAP | ANON_PRIVATE;
                flags |= Kernel.MAP_ANONYMOUS;
            }
            default -> {
                if (shared && path.startsWith("/SYSV")) {
                    // a SysV segment's: as CRIU records it, shared anonymous memory whose shmid is the segment's
                    // id, which is its inode number (the first segment of a namespace has id and inode 0)
                    status |= ANON_SHARED | SYSVIPC;
                    flags |= Kernel.MAP_ANONYMOUS;
                } else if (m.inode() == 0) {
                    status |= ANON_PRIVATE;
                    flags |= Kernel.MAP_ANONYMOUS;
                } else if (shared && path.startsWith("/dev/zero")) {
                    status |= ANON_SHARED;
                    flags |= Kernel.MAP_ANONYMOUS;
                } else {
                    status |= shared ? FILE_SHARED : FILE_PRIVATE;
                    if (MemfdDumper.isMemfd(path)) {
                        status |= MEMFD;
                    }
                }
            }
        }
        if (m.inode() == 0 && shared && (status & SYSVIPC) == 0) {
            // shared anonymous memory that smaps shows without a name
            status = (status & ~ANON_PRIVATE) | ANON_SHARED;
        }
        return new Vma(m.start(), m.end(), m.offset(), prot, flags, status, path, m.inode(), m.dev(), vmFlags);
    }
}
