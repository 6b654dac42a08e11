package dev.cryo.syscalls;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.clone_args;
import dev.cryo.bindings.iovec;
import dev.cryo.bindings.procmap_query;

/**
 * Probes of the kernel features cryo uses, each tried on cryo itself, with what the kernel answered as a typed
 * result. A probe never changes anything outside cryo's own process, and closes every fd and mapping it opens.
 * What to make of the answers is decided where they are used: which dirty tracker a step uses (dump's
 * {@code DirtyTracker}), what {@code cryo check} says (cli's {@code KernelReport}).
 */
public final class KernelFeatures {
    // Bit 55 of a /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
    private static final long PM_SOFT_DIRTY = 1L << 55;

    private KernelFeatures() {}

    /** The features probed, in the order {@code cryo check} lists them, by the kernel's names for them. */
    public enum Feature {
        PTRACE("ptrace (PTRACE_SEIZE)", true),
        PROCESS_VM_READV("process_vm_readv", true),
        PIDFD("pidfd_open + pidfd_getfd", true),
        CLONE3("clone3", true),
        PAGEMAP_SCAN("PAGEMAP_SCAN ioctl", false),
        PROCMAP_QUERY("PROCMAP_QUERY ioctl", false),
        SOFT_DIRTY("soft-dirty bit", false),
        UFFD_WP_ASYNC("userfaultfd WP_ASYNC", false),
        CGROUP_FREEZER("cgroup2 freezer", false),
        VDSO("vDSO layout", false);

        private final String title;
        private final boolean required;

        Feature(String title, boolean required) {
            this.title = title;
            this.required = required;
        }

        public String title() {
            return title;
        }

        /** A dump or restore cannot do without it; the others have fallbacks. */
        public boolean required() {
            return required;
        }
    }

    /**
     * Whether the kernel has {@code f}, as its probe finds it; a probe that fails in a way it did not expect
     * counts as absent.
     */
    public static boolean has(Feature f) {
        try {
            return switch (f) {
                case PTRACE -> ptrace().allowed();
                case PROCESS_VM_READV -> processVmReadv().works();
                case PIDFD -> pidfd().works();
                case CLONE3 -> clone3().works();
                case PAGEMAP_SCAN -> pagemapScan().works();
                case PROCMAP_QUERY -> procmapQuery().works();
                case SOFT_DIRTY -> softDirty();
                case UFFD_WP_ASYNC -> uffdWpAsync().works();
                case CGROUP_FREEZER -> cgroupFreezer().works();
                case VDSO -> vdso().stream().anyMatch(m -> m.name().equals("[vdso]"));
            };
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** How the kernel answered the call a probe made. */
    public sealed interface Answer {
        /** As documented: the feature is there. */
        record Works() implements Answer {}

        /** With an errno: {@code error} names the call that failed and why (ENOSYS, ENOTTY, EINVAL, EPERM...). */
        record Refused(ErrnoException error) implements Answer {}

        /** Without an error, but not as documented; {@code what} says what it did. */
        record Wrong(String what) implements Answer {}

        default boolean works() {
            return this instanceof Works;
        }
    }

    /** Who may ptrace whom: Yama's {@code ptrace_scope} (empty without Yama), and whether cryo has CAP_SYS_PTRACE. */
    public record PtraceAccess(OptionalInt yamaScope, boolean capSysPtrace) {
        /** Whether cryo may seize the processes it dumps: scope 0 or no Yama; 1 and 2 with the capability; 3 never. */
        public boolean allowed() {
            int scope = yamaScope.orElse(0);
            return scope == 0 || (scope <= 2 && capSysPtrace);
        }
    }

    /** What cgroup2 offers to freeze a tree: no cgroup2, or its mount and whether a cgroup below the root has cgroup.freeze. */
    public sealed interface CgroupFreezer {
        /** cgroup2 is not mounted. */
        record NotMounted() implements CgroupFreezer {}

        /** Mounted at {@code mount}; {@code sample} is a cgroup below its root and has cgroup.freeze (Linux 5.2+). */
        record Freezes(Path mount, Optional<Path> sample) implements CgroupFreezer {}

        /** Mounted at {@code mount}, but {@code sample}, a cgroup below its root, has no cgroup.freeze (before 5.2). */
        record NoFreezeFile(Path mount, Path sample) implements CgroupFreezer {}

        /** Mounted at {@code mount}, but its cgroups could not be listed. */
        record Unlisted(Path mount, IOException error) implements CgroupFreezer {}

        default boolean works() {
            return this instanceof Freezes;
        }
    }

    /** What {@code probe} answers; a failure with one of {@code expected}, the documented ways of saying no, is a refusal. */
    private static Answer refusedOn(Supplier<Answer> probe, Errno... expected) {
        try {
            return probe.get();
        } catch (ErrnoException e) {
            for (Errno no : expected) {
                if (e.is(no)) {
                    return new Answer.Refused(e);
                }
            }
            throw e;
        }
    }

    private static int self() {
        return (int) Syscall.call("getpid", Linux.__NR_getpid());
    }

    /** PAGEMAP_SCAN on a page just written: reported present (Linux 6.7+), or refused with ENOTTY or EINVAL. */
    public static Answer pagemapScan() {
        return refusedOn(KernelFeatures::scanAPage, Errno.ENOTTY, Errno.EINVAL);
    }

    private static Answer scanAPage() {
        try (Mapping page = Mapping.anonymous(Page.SIZE);
             Fd pagemap = Io.open("/proc/self/pagemap", Linux.O_RDONLY());
             PagemapScan scan = new PagemapScan(1)) {
            page.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            long present = PagemapScan.PRESENT;
            int regions = scan.scan(" /proc/self/pagemap", pagemap, page.address(), page.address() + Page.SIZE,
                    new PagemapScan.Query(0, 0, 0, present, present, 0));
            if (regions != 1 || (scan.categories(0) & present) == 0) {
                return new Answer.Wrong("PAGEMAP_SCAN answered but did not report a page just written as present");
            }
            return new Answer.Works();
        }
    }

    /** PROCMAP_QUERY for a mapping of cryo's: answered with it (Linux 6.11+), or refused with ENOTTY or EINVAL. */
    public static Answer procmapQuery() {
        return refusedOn(KernelFeatures::queryAMapping, Errno.ENOTTY, Errno.EINVAL);
    }

    private static Answer queryAMapping() {
        try (Mapping page = Mapping.anonymous(Page.SIZE);
             Fd maps = Io.open("/proc/self/maps", Linux.O_RDONLY());
             Arena arena = Arena.ofConfined()) {
            MemorySegment q = procmap_query.allocate(arena);
            q.fill((byte) 0);
            procmap_query.size(q, procmap_query.sizeof());
            procmap_query.query_flags(q, Linux.PROCMAP_QUERY_COVERING_OR_NEXT_VMA());
            procmap_query.query_addr(q, page.address());
            Io.ioctl("PROCMAP_QUERY", maps.fd(), Linux.PROCMAP_QUERY(), q.address());
            if (procmap_query.vma_start(q) > page.address() || procmap_query.vma_end(q) < page.address() + Page.SIZE) {
                return new Answer.Wrong("PROCMAP_QUERY answered with a mapping that does not cover the one asked about");
            }
            return new Answer.Works();
        }
    }

    /**
     * Whether the kernel keeps the soft-dirty bit (CONFIG_MEM_SOFT_DIRTY). Writing "4" to clear_refs succeeds
     * even without it (it is then a no-op), so that proves nothing; a page written just now is soft-dirty
     * exactly when the kernel tracks the bit.
     */
    public static boolean softDirty() {
        try (Mapping page = Mapping.anonymous(Page.SIZE);
             Fd pagemap = Io.open("/proc/self/pagemap", Linux.O_RDONLY());
             Arena arena = Arena.ofConfined()) {
            page.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            MemorySegment entry = arena.allocate(ValueLayout.JAVA_LONG);
            Io.pread(pagemap.fd(), entry, page.address() / Page.SIZE * Long.BYTES);
            return (entry.get(ValueLayout.JAVA_LONG, 0) & PM_SOFT_DIRTY) != 0;
        }
    }

    /**
     * A userfaultfd with UFFD_FEATURE_WP_ASYNC: granted, or refused by userfaultfd (ENOSYS: none in this
     * kernel; EPERM: not allowed here) or by UFFDIO_API (EINVAL: no such feature, before Linux 6.7).
     */
    public static Answer uffdWpAsync() {
        Fd uffd;
        try {
            // User-mode-only faults are all cryo needs, and this flag is allowed without privilege.
            uffd = Uffd.create();
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOSYS) || e.is(Errno.EPERM)) {
                return new Answer.Refused(e);
            }
            throw e;
        }
        try (uffd) {
            Uffd.api(uffd, Linux.UFFD_FEATURE_WP_ASYNC());
            return new Answer.Works();
        } catch (ErrnoException e) {
            if (e.is(Errno.EINVAL)) {
                return new Answer.Refused(e);
            }
            throw e;
        }
    }

    /** pidfd_open of cryo, then pidfd_getfd of one of its fds: done, or refused with ENOSYS (before Linux 5.6). */
    public static Answer pidfd() {
        return refusedOn(() -> {
            try (Fd pidfd = Pidfd.open(self()); Fd copy = Pidfd.getFd(pidfd, pidfd.fd())) {
                return new Answer.Works();
            }
        }, Errno.ENOSYS);
    }

    /** process_vm_readv of 8 bytes of cryo's own memory: read back as written, or not. */
    public static Answer processVmReadv() {
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
                return new Answer.Wrong("process_vm_readv of cryo's own memory read " + n + " bytes, not the 8 written");
            }
            return new Answer.Works();
        }
    }

    /**
     * clone3 with a NULL clone_args, which fails with EFAULT (or EINVAL) once it has checked that it exists:
     * nothing is cloned. Refused with ENOSYS (before Linux 5.3) or EPERM (a seccomp filter).
     */
    public static Answer clone3() {
        try {
            Syscall.call("clone3", Linux.__NR_clone3(), 0, clone_args.sizeof());
            throw new IllegalStateException("clone3(NULL) returned without an error");
        } catch (ErrnoException e) {
            if (e.is(Errno.EFAULT) || e.is(Errno.EINVAL)) {
                return new Answer.Works();
            }
            if (e.is(Errno.ENOSYS) || e.is(Errno.EPERM)) {
                return new Answer.Refused(e);
            }
            throw e;
        }
    }

    public static PtraceAccess ptrace() {
        Path yama = Path.of("/proc/sys/kernel/yama/ptrace_scope");
        OptionalInt scope = Files.exists(yama) ? OptionalInt.of(Integer.parseInt(read(yama).trim())) : OptionalInt.empty();
        return new PtraceAccess(scope, hasCapability(Linux.CAP_SYS_PTRACE()));
    }

    public static CgroupFreezer cgroupFreezer() {
        Path mount = Cgroup2.mountPoint().orElse(null);
        if (mount == null) {
            return new CgroupFreezer.NotMounted();
        }
        // The root cgroup has no cgroup.freeze; every other one has, since Linux 5.2.
        try (DirectoryStream<Path> children = Files.newDirectoryStream(mount, Files::isDirectory)) {
            for (Path child : children) {
                return Files.exists(child.resolve("cgroup.freeze")) ? new CgroupFreezer.Freezes(mount, Optional.of(child))
                        : new CgroupFreezer.NoFreezeFile(mount, child);
            }
        } catch (IOException e) {
            return new CgroupFreezer.Unlisted(mount, e);
        }
        return new CgroupFreezer.Freezes(mount, Optional.empty());
    }

    /** The vDSO and its data pages ({@code [vvar]}, {@code [vvar_vclock]}, {@code [vdso]}) in cryo's own maps. */
    public static List<ProcMaps.Mapping> vdso() {
        return ProcMaps.of(self()).stream()
                .filter(m -> m.name().equals("[vvar]") || m.name().equals("[vvar_vclock]") || m.name().equals("[vdso]"))
                .toList();
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
