package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.uffdio_api;
import dev.cryo.bindings.uffdio_range;
import dev.cryo.bindings.uffdio_register;

/**
 * userfaultfd operations on a descriptor that cryo holds. The descriptor may belong to another process's
 * mm (created inside it by the parasite, taken with {@code pidfd_getfd}): register and PAGEMAP_SCAN act on
 * the mm the uffd was created in, whoever calls them.
 */
public final class Uffd {
    /** The features write tracking asks for: asynchronous write-protect, also of pages never touched. */
    public static final long WP_TRACKING_FEATURES = Linux.UFFD_FEATURE_WP_ASYNC() | Linux.UFFD_FEATURE_WP_UNPOPULATED();

    private Uffd() {}

    /** A userfaultfd of cryo's own (for tests and probes). */
    public static Fd create() {
        return Fd.own((int) Syscall.call("userfaultfd", Linux.__NR_userfaultfd(), Linux.O_CLOEXEC() | Linux.UFFD_USER_MODE_ONLY()));
    }

    /** UFFDIO_API handshake asking for {@code features}; returns what the kernel granted. */
    public static long api(Fd uffd, long features) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment api = uffdio_api.allocate(arena);
            uffdio_api.api(api, Linux.UFFD_API());
            uffdio_api.features(api, features);
            Io.ioctl("UFFDIO_API", uffd.fd(), Linux.UFFDIO_API(), api.address());
            return uffdio_api.features(api);
        }
    }

    /** Registers [start, start+len) for write-protect tracking. */
    public static void registerWp(Fd uffd, long start, long len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment reg = uffdio_register.allocate(arena);
            MemorySegment range = uffdio_register.range(reg);
            uffdio_range.start(range, start);
            uffdio_range.len(range, len);
            uffdio_register.mode(reg, Linux.UFFDIO_REGISTER_MODE_WP());
            Io.ioctl(String.format("UFFDIO_REGISTER 0x%x+0x%x", start, len), uffd.fd(), Linux.UFFDIO_REGISTER(), reg.address());
        }
    }
}
