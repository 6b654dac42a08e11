package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.uffd_msg;
import dev.cryo.bindings.uffdio_api;
import dev.cryo.bindings.uffdio_copy;
import dev.cryo.bindings.uffdio_range;
import dev.cryo.bindings.uffdio_register;
import dev.cryo.bindings.uffdio_zeropage;

/**
 * userfaultfd operations on a descriptor that cryo holds. The descriptor may belong to another process's
 * mm (created inside it by the parasite, taken with {@code pidfd_getfd}): register and PAGEMAP_SCAN act on
 * the mm the uffd was created in, whoever calls them.
 */
public final class Uffd {
    /** The features write tracking asks for: asynchronous write-protect, also of pages never touched. */
    public static final long WP_TRACKING_FEATURES = Linux.UFFD_FEATURE_WP_ASYNC() | Linux.UFFD_FEATURE_WP_UNPOPULATED();

    /** userfaultfd(2)'s flags for cryo's uffds: close-on-exec, user-mode faults only (allowed unprivileged). */
    public static final long CREATE_FLAGS = Linux.O_CLOEXEC() | Linux.UFFD_USER_MODE_ONLY();
    /** The ioctl request of the handshake; its argument is {@link #apiRequest}'s. */
    public static final long UFFDIO_API = Linux.UFFDIO_API();

    private Uffd() {}

    /** A userfaultfd of cryo's own (for tests and probes). */
    public static Fd create() {
        return Fd.own((int) Syscall.call("userfaultfd", Linux.__NR_userfaultfd(), CREATE_FLAGS));
    }

    /**
     * The argument of the UFFDIO_API handshake asking for {@code features}: for {@link #api}, or written into
     * another task whose uffd it is. After the ioctl, {@link #offered} reads the kernel's answer.
     */
    public static MemorySegment apiRequest(SegmentAllocator allocator, long features) {
        MemorySegment api = uffdio_api.allocate(allocator);
        uffdio_api.api(api, Linux.UFFD_API());
        uffdio_api.features(api, features);
        uffdio_api.ioctls(api, 0);
        return api;
    }

    /**
     * The features the kernel wrote back into {@code request} after a UFFDIO_API handshake: every feature it
     * has, not only those asked for (a feature asked for that it lacks fails the ioctl with EINVAL).
     */
    public static long offered(MemorySegment request) {
        return uffdio_api.features(request);
    }

    /** UFFDIO_API handshake asking for {@code features}; returns every feature the kernel has ({@link #offered}). */
    public static long api(Fd uffd, long features) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment api = apiRequest(arena, features);
            Io.ioctl("UFFDIO_API", uffd.fd(), UFFDIO_API, api.address());
            return offered(api);
        }
    }

    /**
     * The features a lazy restore asks for: the non-cooperative events (fork, mremap, madvise's removal,
     * munmap), which keep a daemon's view of the address space true while the task changes it, and the
     * faulting thread's id in each fault message.
     */
    public static final long LAZY_FEATURES = Linux.UFFD_FEATURE_EVENT_FORK() | Linux.UFFD_FEATURE_EVENT_REMAP()
            | Linux.UFFD_FEATURE_EVENT_REMOVE() | Linux.UFFD_FEATURE_EVENT_UNMAP() | Linux.UFFD_FEATURE_THREAD_ID();

    /** Size of one {@code struct uffd_msg} as read(2) returns it. */
    public static final long MESSAGE_SIZE = uffd_msg.sizeof();

    /**
     * The outcome of UFFDIO_COPY or UFFDIO_ZEROPAGE: the bytes placed from the start of the range, and 0 or the
     * errno that stopped it there. EEXIST: a page is there already; EAGAIN: the address space is changing
     * (an event waits to be read); ESRCH (ENOSPC on older kernels): the process has exited; ENOENT: no
     * registered mapping there any more.
     */
    public record Placed(long bytes, int errno) {
        public boolean ok() {
            return errno == 0;
        }

        public boolean is(Errno e) {
            return errno == e.number();
        }
    }

    /** Registers [start, start+len) for missing-page faults. */
    public static void registerMissing(Fd uffd, long start, long len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment reg = uffdio_register.allocate(arena);
            MemorySegment range = uffdio_register.range(reg);
            uffdio_range.start(range, start);
            uffdio_range.len(range, len);
            uffdio_register.mode(reg, Linux.UFFDIO_REGISTER_MODE_MISSING());
            Io.ioctl(String.format("UFFDIO_REGISTER 0x%x+0x%x", start, len), uffd.fd(), Linux.UFFDIO_REGISTER(), reg.address());
        }
    }

    /**
     * UFFDIO_COPY of {@code src} (page-aligned, whole pages) to {@code dst} in the uffd's address space, waking
     * the threads that wait there. {@code scratch} holds the ioctl's argument ({@link #argument}).
     */
    public static Placed copy(Fd uffd, long dst, MemorySegment src, MemorySegment scratch) {
        uffdio_copy.dst(scratch, dst);
        uffdio_copy.src(scratch, src.address());
        uffdio_copy.len(scratch, src.byteSize());
        uffdio_copy.mode(scratch, 0);
        uffdio_copy.copy(scratch, 0);
        try {
            Syscall.call("ioctl(UFFDIO_COPY)", Linux.__NR_ioctl(), uffd.fd(), Linux.UFFDIO_COPY(), scratch.address());
            return new Placed(uffdio_copy.copy(scratch), 0);
        } catch (ErrnoException e) {
            long done = uffdio_copy.copy(scratch);
            return new Placed(Math.max(0, done), e.errno());
        }
    }

    /** UFFDIO_ZEROPAGE of [dst, dst+len): the zero page mapped there, waking the threads that wait. */
    public static Placed zeroPage(Fd uffd, long dst, long len, MemorySegment scratch) {
        MemorySegment range = uffdio_zeropage.range(scratch);
        uffdio_range.start(range, dst);
        uffdio_range.len(range, len);
        uffdio_zeropage.mode(scratch, 0);
        uffdio_zeropage.zeropage(scratch, 0);
        try {
            Syscall.call("ioctl(UFFDIO_ZEROPAGE)", Linux.__NR_ioctl(), uffd.fd(), Linux.UFFDIO_ZEROPAGE(), scratch.address());
            return new Placed(uffdio_zeropage.zeropage(scratch), 0);
        } catch (ErrnoException e) {
            return new Placed(Math.max(0, uffdio_zeropage.zeropage(scratch)), e.errno());
        }
    }

    /** UFFDIO_WAKE: the threads waiting on a fault in [start, start+len) try again. */
    public static void wake(Fd uffd, long start, long len) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment range = uffdio_range.allocate(arena);
            uffdio_range.start(range, start);
            uffdio_range.len(range, len);
            Io.ioctl("UFFDIO_WAKE", uffd.fd(), Linux.UFFDIO_WAKE(), range.address());
        }
    }

    /** Memory for the argument of {@link #copy} and {@link #zeroPage}, reused call after call. */
    public static MemorySegment argument(Arena arena) {
        return arena.allocate(Math.max(uffdio_copy.sizeof(), uffdio_zeropage.sizeof()), 8);
    }

    /**
     * Reads the messages waiting on a non-blocking uffd into {@code buf} (a multiple of {@link #MESSAGE_SIZE});
     * returns how many, 0 when none waits.
     */
    public static int read(Fd uffd, MemorySegment buf) {
        try {
            return (int) (Io.read(uffd.fd(), buf) / MESSAGE_SIZE);
        } catch (ErrnoException e) {
            if (e.is(Errno.EAGAIN)) {
                return 0;
            }
            throw e;
        }
    }

    /** One message of a uffd, decoded; the fields that its event does not have are 0. */
    public record Message(int event, long address, long flags, int tid, int forkedUffd, long from, long to, long len,
                          long start, long end) {
        public boolean isFault() {
            return event == Linux.UFFD_EVENT_PAGEFAULT();
        }
    }

    /** The {@code i}-th message of {@code buf}. */
    public static Message message(MemorySegment buf, int i) {
        MemorySegment m = buf.asSlice(i * MESSAGE_SIZE, MESSAGE_SIZE);
        int event = Byte.toUnsignedInt(uffd_msg.event(m));
        MemorySegment arg = uffd_msg.arg(m);
        if (event == Linux.UFFD_EVENT_PAGEFAULT()) {
            MemorySegment pf = uffd_msg.arg.pagefault(arg);
            int tid = uffd_msg.arg.pagefault.feat.ptid(uffd_msg.arg.pagefault.feat(pf));
            return new Message(event, uffd_msg.arg.pagefault.address(pf), uffd_msg.arg.pagefault.flags(pf), tid, 0, 0, 0, 0, 0, 0);
        }
        if (event == Linux.UFFD_EVENT_FORK()) {
            return new Message(event, 0, 0, 0, uffd_msg.arg.fork.ufd(uffd_msg.arg.fork(arg)), 0, 0, 0, 0, 0);
        }
        if (event == Linux.UFFD_EVENT_REMAP()) {
            MemorySegment r = uffd_msg.arg.remap(arg);
            return new Message(event, 0, 0, 0, 0, uffd_msg.arg.remap.from(r), uffd_msg.arg.remap.to(r), uffd_msg.arg.remap.len(r), 0, 0);
        }
        MemorySegment r = uffd_msg.arg.remove(arg); // REMOVE and UNMAP
        return new Message(event, 0, 0, 0, 0, 0, 0, 0, uffd_msg.arg.remove.start(r), uffd_msg.arg.remove.end(r));
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
