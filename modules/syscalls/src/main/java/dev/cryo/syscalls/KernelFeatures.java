package dev.cryo.syscalls;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.clone_args;
import dev.cryo.bindings.iovec;
import dev.cryo.bindings.page_region;
import dev.cryo.bindings.pm_scan_arg;
import dev.cryo.bindings.procmap_query;
import dev.cryo.bindings.uffdio_api;

/**
 * Which of the kernel features cryo uses the running kernel has, found by trying each one on cryo itself.
 *
 * <p>A probe never changes anything outside cryo's own process, and closes every fd and mapping it opens.
 * {@link Feature#required()} marks what a dump or restore cannot do without; the others have fallbacks.
 */
public final class KernelFeatures {
    private static final long PAGE = 4096;
    // Bit 55 of a /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
    private static final long PM_SOFT_DIRTY = 1L << 55;
    private static final int CAP_SYS_PTRACE = 19;

    private static volatile DirtyTracker tracker;

    private KernelFeatures() {}

    /** How pre-dump and dump --track-mem tell written pages apart on this kernel. */
    public enum DirtyTracker {
        /** userfaultfd async write-protect, read and re-armed by PAGEMAP_SCAN (Linux 6.7+). */
        UFFD_WP("uffd-wp"),
        /** The soft-dirty bit of /proc/PID/pagemap, cleared through /proc/PID/clear_refs (CONFIG_MEM_SOFT_DIRTY). */
        SOFT_DIRTY("soft-dirty"),
        NONE("none");

        private final String label;

        DirtyTracker(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /**
     * The tracker cryo uses here, probed once: uffd-wp where the kernel has it (nothing to clear, and read
     * mode can look at the pages after the tree is released), else soft-dirty, else none.
     */
    public static DirtyTracker dirtyTracker() {
        DirtyTracker t = tracker;
        if (t == null) {
            t = choose(guarded("", false, KernelFeatures::uffdWpAsync).present(),
                    guarded("", false, KernelFeatures::pagemapScan).present(), hasSoftDirty());
            tracker = t;
        }
        return t;
    }

    /** The tracker for a kernel with (or without) WP_ASYNC, PAGEMAP_SCAN and the soft-dirty bit. */
    private static DirtyTracker choose(boolean uffdWpAsync, boolean pagemapScan, boolean softDirty) {
        if (uffdWpAsync && pagemapScan) {
            return DirtyTracker.UFFD_WP;
        }
        return softDirty ? DirtyTracker.SOFT_DIRTY : DirtyTracker.NONE;
    }

    /** One probed feature: {@code detail} says what was seen, or what is missing and what cryo does instead. */
    public record Feature(String name, boolean present, boolean required, String detail) {}

    /** Every probe, in the order {@code cryo check} prints them. */
    public static List<Feature> probeAll() {
        List<Feature> out = new ArrayList<>();
        out.add(guarded("ptrace (PTRACE_SEIZE)", true, KernelFeatures::ptrace));
        out.add(guarded("process_vm_readv", true, KernelFeatures::processVmReadv));
        out.add(guarded("pidfd_open + pidfd_getfd", true, KernelFeatures::pidfd));
        out.add(guarded("clone3", true, KernelFeatures::clone3));
        out.add(guarded("PAGEMAP_SCAN ioctl", false, KernelFeatures::pagemapScan));
        out.add(guarded("PROCMAP_QUERY ioctl", false, KernelFeatures::procmapQuery));
        out.add(guarded("soft-dirty bit", false, KernelFeatures::softDirty));
        out.add(guarded("userfaultfd WP_ASYNC", false, KernelFeatures::uffdWpAsync));
        out.add(dirtyTracker(out));
        out.add(guarded("cgroup2 freezer", false, KernelFeatures::cgroupFreezer));
        out.add(guarded("vDSO layout", false, KernelFeatures::vdsoLayout));
        return out;
    }

    /** Which way pre-dump tells written pages apart, from the probes above. */
    private static Feature dirtyTracker(List<Feature> probed) {
        boolean uffd = probed.stream().anyMatch(f -> f.name().equals("userfaultfd WP_ASYNC") && f.present());
        boolean scan = probed.stream().anyMatch(f -> f.name().equals("PAGEMAP_SCAN ioctl") && f.present());
        boolean softDirty = probed.stream().anyMatch(f -> f.name().equals("soft-dirty bit") && f.present());
        String name = "dirty-page tracker";
        return switch (choose(uffd, scan, softDirty)) {
            case UFFD_WP -> new Feature(name, true, false, "uffd-wp: userfaultfd async write-protect, read and re-armed by"
                    + " PAGEMAP_SCAN" + (softDirty ? " (soft-dirty is here too: cryo prefers uffd-wp)" : ""));
            case SOFT_DIRTY -> new Feature(name, true, false, "soft-dirty: bit 55 of /proc/PID/pagemap, cleared through"
                    + " /proc/PID/clear_refs while the tree is frozen");
            case NONE -> new Feature(name, false, false, "none: pre-dump refuses, dump with --prev-images-dir copies every page");
        };
    }

    /** Whether this kernel keeps the soft-dirty bit (CONFIG_MEM_SOFT_DIRTY), whichever tracker cryo picks. */
    public static boolean hasSoftDirty() {
        return guarded("", false, KernelFeatures::softDirty).present();
    }

    /** What a probe finds, before it is named. */
    private record Finding(boolean present, String detail) {
        static Finding yes(String detail) {
            return new Finding(true, detail);
        }

        static Finding no(String detail) {
            return new Finding(false, detail);
        }
    }

    // A probe that fails in a way it did not expect reports the feature absent with the reason, never throws.
    private static Feature guarded(String name, boolean required, Supplier<Finding> probe) {
        Finding f;
        try {
            f = probe.get();
        } catch (ErrnoException e) {
            f = Finding.no(e.getMessage());
        } catch (RuntimeException e) {
            f = Finding.no("probe failed: " + e);
        }
        return new Feature(name, f.present(), required, f.detail());
    }

    private static int self() {
        return (int) Syscall.call("getpid", Linux.__NR_getpid());
    }

    static Finding pagemapScan() {
        try (Mapping page = Mapping.anonymous(PAGE);
             Fd pagemap = Io.open("/proc/self/pagemap", Linux.O_RDONLY());
             Arena arena = Arena.ofConfined()) {
            page.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            MemorySegment region = page_region.allocate(arena);
            MemorySegment arg = pm_scan_arg.allocate(arena);
            pm_scan_arg.size(arg, pm_scan_arg.sizeof());
            pm_scan_arg.start(arg, page.address());
            pm_scan_arg.end(arg, page.address() + PAGE);
            pm_scan_arg.vec(arg, region.address());
            pm_scan_arg.vec_len(arg, 1);
            pm_scan_arg.category_anyof_mask(arg, Linux.PAGE_IS_PRESENT());
            pm_scan_arg.return_mask(arg, Linux.PAGE_IS_PRESENT());
            long regions = Io.ioctl("PAGEMAP_SCAN", pagemap.fd(), Linux.PAGEMAP_SCAN(), arg.address());
            if (regions != 1 || (page_region.categories(region) & Linux.PAGE_IS_PRESENT()) == 0) {
                return Finding.no("PAGEMAP_SCAN answered but did not report a page just written as present");
            }
            return Finding.yes("present pages found with one ioctl on /proc/PID/pagemap");
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOTTY) || e.is(Errno.EINVAL)) {
                return Finding.no("kernel before 6.7 (" + e.reason() + "); cryo reads /proc/PID/pagemap instead");
            }
            throw e;
        }
    }

    static Finding procmapQuery() {
        try (Mapping page = Mapping.anonymous(PAGE);
             Fd maps = Io.open("/proc/self/maps", Linux.O_RDONLY());
             Arena arena = Arena.ofConfined()) {
            MemorySegment q = procmap_query.allocate(arena);
            q.fill((byte) 0);
            procmap_query.size(q, procmap_query.sizeof());
            procmap_query.query_flags(q, Linux.PROCMAP_QUERY_COVERING_OR_NEXT_VMA());
            procmap_query.query_addr(q, page.address());
            Io.ioctl("PROCMAP_QUERY", maps.fd(), Linux.PROCMAP_QUERY(), q.address());
            if (procmap_query.vma_start(q) > page.address() || procmap_query.vma_end(q) < page.address() + PAGE) {
                return Finding.no("PROCMAP_QUERY answered with a mapping that does not cover the one asked about");
            }
            return Finding.yes("mappings read one at a time with an ioctl on /proc/PID/maps");
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOTTY) || e.is(Errno.EINVAL)) {
                return Finding.no("kernel before 6.11 (" + e.reason() + "); cryo parses /proc/PID/smaps instead");
            }
            throw e;
        }
    }

    // Writing "4" to clear_refs succeeds even on kernels without CONFIG_MEM_SOFT_DIRTY (it is then a no-op),
    // so that proves nothing. A page written just now is soft-dirty exactly when the kernel tracks the bit.
    static Finding softDirty() {
        try (Mapping page = Mapping.anonymous(PAGE);
             Fd pagemap = Io.open("/proc/self/pagemap", Linux.O_RDONLY());
             Arena arena = Arena.ofConfined()) {
            page.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            MemorySegment entry = arena.allocate(ValueLayout.JAVA_LONG);
            Io.pread(pagemap.fd(), entry, page.address() / PAGE * Long.BYTES);
            if ((entry.get(ValueLayout.JAVA_LONG, 0) & PM_SOFT_DIRTY) == 0) {
                return Finding.no("a page just written is not soft-dirty: kernel built without CONFIG_MEM_SOFT_DIRTY;"
                        + " cryo tracks writes with userfaultfd WP_ASYNC");
            }
            return Finding.yes("bit 55 of /proc/PID/pagemap is set for a page just written");
        }
    }

    static Finding uffdWpAsync() {
        Fd uffd;
        try {
            // User-mode-only faults are all cryo needs, and this flag is allowed without privilege.
            uffd = Fd.own((int) Syscall.call("userfaultfd", Linux.__NR_userfaultfd(),
                    Linux.O_CLOEXEC() | Linux.UFFD_USER_MODE_ONLY()));
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOSYS)) {
                return Finding.no("no userfaultfd in this kernel (ENOSYS)");
            }
            if (e.is(Errno.EPERM)) {
                return Finding.no("userfaultfd is not allowed here (EPERM; see vm.unprivileged_userfaultfd)");
            }
            throw e;
        }
        try (uffd; Arena arena = Arena.ofConfined()) {
            MemorySegment api = uffdio_api.allocate(arena);
            uffdio_api.api(api, Linux.UFFD_API());
            uffdio_api.features(api, Linux.UFFD_FEATURE_WP_ASYNC());
            uffdio_api.ioctls(api, 0);
            Io.ioctl("UFFDIO_API", uffd.fd(), Linux.UFFDIO_API(), api.address());
            return Finding.yes("UFFDIO_API granted UFFD_FEATURE_WP_ASYNC: writes are tracked without soft-dirty");
        } catch (ErrnoException e) {
            if (e.is(Errno.EINVAL)) {
                return Finding.no("UFFDIO_API refused UFFD_FEATURE_WP_ASYNC (Linux 6.7+)");
            }
            throw e;
        }
    }

    static Finding pidfd() {
        try (Fd pidfd = Pidfd.open(self()); Fd copy = Pidfd.getFd(pidfd, pidfd.fd())) {
            return Finding.yes("pidfd_getfd copied one of cryo's own fds");
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOSYS)) {
                return Finding.no(e.call() + " is missing (Linux 5.6+)");
            }
            throw e;
        }
    }

    static Finding processVmReadv() {
        try (Arena arena = Arena.ofConfined()) {
            long magic = 0x0123_4567_89ab_cdefL;
            MemorySegment src = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment dst = arena.allocate(ValueLayout.JAVA_LONG);
            src.set(ValueLayout.JAVA_LONG, 0, magic);
            MemorySegment local = iovec.allocate(arena);
            iovec.iov_base(local, dst);
            iovec.iov_len(local, Long.BYTES);
            MemorySegment remote = iovec.allocate(arena);
            iovec.iov_base(remote, src);
            iovec.iov_len(remote, Long.BYTES);
            long n = ProcessVm.readv(self(), local, 1, remote, 1);
            if (n != Long.BYTES || dst.get(ValueLayout.JAVA_LONG, 0) != magic) {
                return Finding.no("process_vm_readv of cryo's own memory read " + n + " bytes, not the 8 written");
            }
            return Finding.yes("read 8 bytes of cryo's own memory");
        }
    }

    // A NULL clone_args makes clone3 fail with EFAULT after it has checked that it exists: nothing is cloned.
    static Finding clone3() {
        try {
            Syscall.call("clone3", Linux.__NR_clone3(), 0, clone_args.sizeof());
            throw new IllegalStateException("clone3(NULL) returned without an error");
        } catch (ErrnoException e) {
            if (e.is(Errno.EFAULT) || e.is(Errno.EINVAL)) {
                return Finding.yes("clone3 is there (set_tid needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN)");
            }
            if (e.is(Errno.ENOSYS)) {
                return Finding.no("no clone3 (Linux 5.3+): restore cannot give tasks their dumped pids");
            }
            if (e.is(Errno.EPERM)) {
                return Finding.no("clone3 is blocked (EPERM), probably by a seccomp filter");
            }
            throw e;
        }
    }

    static Finding ptrace() {
        boolean capable = hasCapability(CAP_SYS_PTRACE);
        Path yama = Path.of("/proc/sys/kernel/yama/ptrace_scope");
        int scope = Files.exists(yama) ? Integer.parseInt(read(yama).trim()) : -1;
        String who = capable ? "any process (CAP_SYS_PTRACE)" : "processes of the same user";
        return switch (scope) {
            case -1 -> Finding.yes("no Yama; cryo may trace " + who);
            case 0 -> Finding.yes("Yama ptrace_scope 0; cryo may trace " + who);
            case 1, 2 -> capable
                    ? Finding.yes("Yama ptrace_scope " + scope + ", but cryo has CAP_SYS_PTRACE")
                    : Finding.no("Yama ptrace_scope " + scope + " and no CAP_SYS_PTRACE: run cryo as root");
            default -> Finding.no("Yama ptrace_scope " + scope + ": ptrace attach is disabled until reboot");
        };
    }

    static Finding cgroupFreezer() {
        Path mount = Cgroup2.mountPoint().orElse(null);
        if (mount == null) {
            return Finding.no("no cgroup2 mount; cryo stops every tree task by task with PTRACE_INTERRUPT");
        }
        String use = "cgroup2 at " + mount + ": a tree in a cgroup of its own is frozen by it, others task by task";
        // The root cgroup has no cgroup.freeze; every other one has, since Linux 5.2.
        try (DirectoryStream<Path> children = Files.newDirectoryStream(mount, Files::isDirectory)) {
            for (Path child : children) {
                return Files.exists(child.resolve("cgroup.freeze")) ? Finding.yes(use)
                        : Finding.no("no cgroup.freeze in " + child + " (Linux before 5.2); cryo stops trees task by task");
            }
        } catch (IOException e) {
            return Finding.no("cannot list " + mount + ": " + e.getMessage());
        }
        return Finding.yes(use + " (no cgroup below the root yet to confirm cgroup.freeze)");
    }

    static Finding vdsoLayout() {
        StringBuilder seen = new StringBuilder();
        boolean vdso = false;
        for (String line : read(Path.of("/proc/self/maps")).split("\n")) {
            String[] f = line.trim().split("\\s+");
            String name = f.length >= 6 ? f[5] : "";
            if (name.equals("[vvar]") || name.equals("[vvar_vclock]") || name.equals("[vdso]")) {
                String[] range = f[0].split("-");
                long pages = (Long.parseUnsignedLong(range[1], 16) - Long.parseUnsignedLong(range[0], 16)) / PAGE;
                seen.append(seen.isEmpty() ? "" : ", ").append(name).append(' ').append(pages)
                        .append(pages == 1 ? " page" : " pages");
                vdso |= name.equals("[vdso]");
            }
        }
        return vdso ? Finding.yes(seen.toString()) : Finding.no("no [vdso] in /proc/self/maps (booted with vdso=0?)");
    }

    private static boolean hasCapability(int cap) {
        for (String line : read(Path.of("/proc/self/status")).split("\n")) {
            if (line.startsWith("CapEff:")) {
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << cap)) != 0;
            }
        }
        return false;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }
}
