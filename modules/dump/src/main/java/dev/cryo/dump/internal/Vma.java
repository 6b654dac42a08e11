package dev.cryo.dump.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import dev.cryo.bindings.Linux;
import dev.cryo.syscalls.Proc;

/**
 * One mapping of a task as {@code /proc/PID/smaps} shows it, classified the way CRIU's images record it.
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
        return (flags & Linux.MAP_PRIVATE()) != 0;
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
        return vmFlags.isEmpty() ? (prot & Linux.PROT_WRITE()) != 0 : vmFlags.contains("mw");
    }

    /**
     * The madvise() advice the mapping carries, as CRIU records it: bit n set for advice n. smaps names
     * them in VmFlags: hg/nh huge pages, dd don't dump, dc don't fork, wf wipe on fork, mg mergeable,
     * sr/rr sequential/random reads.
     */
    long madvise() {
        long m = 0;
        m |= advice("hg", Linux.MADV_HUGEPAGE()) | advice("nh", Linux.MADV_NOHUGEPAGE()) | advice("dd", Linux.MADV_DONTDUMP())
                | advice("dc", Linux.MADV_DONTFORK()) | advice("wf", Linux.MADV_WIPEONFORK()) | advice("mg", Linux.MADV_MERGEABLE())
                | advice("sr", Linux.MADV_SEQUENTIAL()) | advice("rr", Linux.MADV_RANDOM());
        return m;
    }

    private long advice(String flag, int advice) {
        return vmFlags.contains(flag) ? 1L << advice : 0;
    }

    long pages() {
        return (end - start) / 4096;
    }

    /** The mappings of {@code pid}, in address order, without {@code [vsyscall]} (the kernel's, not the task's). */
    static List<Vma> read(int pid) {
        return parse(Proc.read(pid, "smaps"));
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

    private static List<Vma> parse(String text) {
        List<Vma> out = new ArrayList<>();
        String[] lines = text.split("\n");
        Builder current = null;
        for (String line : lines) {
            if (isHeader(line)) {
                if (current != null) {
                    current.finish(out);
                }
                current = new Builder(line);
            } else if (line.startsWith("VmFlags:") && current != null) {
                current.vmFlags = Set.of(line.substring(8).trim().split("\\s+"));
            }
        }
        if (current != null) {
            current.finish(out);
        }
        return out;
    }

    private static boolean isHeader(String line) {
        int dash = line.indexOf('-');
        if (dash <= 0) {
            return false;
        }
        for (int i = 0; i < dash; i++) {
            if (Character.digit(line.charAt(i), 16) < 0) {
                return false;
            }
        }
        return true;
    }

    private static final class Builder {
        final long start;
        final long end;
        final String perms;
        final long pgoff;
        final String dev;
        final long inode;
        final String path;
        Set<String> vmFlags = Set.of();

        Builder(String line) {
            String[] f = line.split("\\s+", 6);
            int dash = f[0].indexOf('-');
            start = Long.parseUnsignedLong(f[0].substring(0, dash), 16);
            end = Long.parseUnsignedLong(f[0].substring(dash + 1), 16);
            perms = f[1];
            pgoff = Long.parseUnsignedLong(f[2], 16);
            dev = f[3];
            inode = Long.parseLong(f[4]);
            path = f.length > 5 ? f[5].trim() : "";
        }

        void finish(List<Vma> out) {
            if (path.equals("[vsyscall]")) {
                return;
            }
            int prot = (perms.charAt(0) == 'r' ? Linux.PROT_READ() : 0) | (perms.charAt(1) == 'w' ? Linux.PROT_WRITE() : 0)
                    | (perms.charAt(2) == 'x' ? Linux.PROT_EXEC() : 0);
            boolean shared = perms.charAt(3) == 's';
            int flags = shared ? Linux.MAP_SHARED() : Linux.MAP_PRIVATE();
            int status = REGULAR;
            if (vmFlags.contains("gd")) {
                flags |= Linux.MAP_GROWSDOWN();
            }
            if (vmFlags.contains("nr")) {
                flags |= Linux.MAP_NORESERVE();
            }
            if (vmFlags.contains("lo")) {
                flags |= Linux.MAP_LOCKED(); // mlock()ed, as CRIU records VM_LOCKED
            }
            switch (path) {
                case "[vdso]" -> {
                    status |= VDSO | ANON_PRIVATE;
                    flags |= Linux.MAP_ANONYMOUS();
                }
                case "[vvar]", "[vvar_vclock]" -> {
                    status |= VVAR | ANON_PRIVATE;
                    flags |= Linux.MAP_ANONYMOUS();
                }
                case "[stack]" -> {
                    status |= STACK | ANON_PRIVATE;
                    flags |= Linux.MAP_ANONYMOUS();
                }
                case "[heap]" -> {
                    status |= HEAP | ANON_PRIVATE;
                    flags |= Linux.MAP_ANONYMOUS();
                }
                default -> {
                    if (shared && path.startsWith("/SYSV")) {
                        // a SysV segment's: as CRIU records it, shared anonymous memory whose shmid is the segment's
                        // id, which is its inode number (the first segment of a namespace has id and inode 0)
                        status |= ANON_SHARED | SYSVIPC;
                        flags |= Linux.MAP_ANONYMOUS();
                    } else if (inode == 0) {
                        status |= ANON_PRIVATE;
                        flags |= Linux.MAP_ANONYMOUS();
                    } else if (shared && path.startsWith("/dev/zero")) {
                        status |= ANON_SHARED;
                        flags |= Linux.MAP_ANONYMOUS();
                    } else {
                        status |= shared ? FILE_SHARED : FILE_PRIVATE;
                        if (MemfdDumper.isMemfd(path)) {
                            status |= MEMFD;
                        }
                    }
                }
            }
            if (inode == 0 && shared && (status & SYSVIPC) == 0) {
                // shared anonymous memory that smaps shows without a name
                status = (status & ~ANON_PRIVATE) | ANON_SHARED;
            }
            out.add(new Vma(start, end, pgoff, prot, flags, status, path, inode, dev, vmFlags));
        }
    }
}
