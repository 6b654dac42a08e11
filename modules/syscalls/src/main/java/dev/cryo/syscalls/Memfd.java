package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;

/** What dumping and restoring a memfd needs beyond {@link Io}: its size, writes at an offset, its seals. */
public final class Memfd {

    private Memfd() {}

    /** memfd_create(name, flags) in cryo's own process. */
    public static Fd create(String name, int flags) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment n = a.allocateFrom(name);
            return Fd.own((int) Syscall.call("memfd_create(" + name + ")", Linux.__NR_memfd_create(), n.address(), flags));
        }
    }

    public static void truncate(Fd fd, long size) {
        Syscall.call("ftruncate(" + size + ")", Linux.__NR_ftruncate(), fd.fd(), size);
    }

    /** Writes all of {@code data} at {@code offset}, looping over short writes. */
    public static void pwriteFully(Fd fd, MemorySegment data, long offset) {
        long done = 0;
        while (done < data.byteSize()) {
            MemorySegment rest = data.asSlice(done);
            done += Syscall.call("pwrite64", Linux.__NR_pwrite64(), fd.fd(), rest.address(), rest.byteSize(), offset + done);
        }
    }

    public static int seals(Fd fd) {
        return (int) Syscall.call("fcntl(F_GET_SEALS)", Linux.__NR_fcntl(), fd.fd(), Linux.F_GET_SEALS());
    }

    public static void addSeals(Fd fd, int seals) {
        Syscall.call("fcntl(F_ADD_SEALS, " + seals + ")", Linux.__NR_fcntl(), fd.fd(), Linux.F_ADD_SEALS(), seals);
    }

    /**
     * Gives [offset, offset + length) of a memfd (or any tmpfs file) back to the kernel: its pages are freed, the
     * size stays, and a read of the range finds zeros (callers that must not answer zeros keep track of it).
     */
    public static void punchHole(Fd fd, long offset, long length) {
        Syscall.call("fallocate(PUNCH_HOLE, " + offset + ", " + length + ")", Linux.__NR_fallocate(), fd.fd(),
                Linux.FALLOC_FL_KEEP_SIZE() | Linux.FALLOC_FL_PUNCH_HOLE(), offset, length);
    }

    /** A read-only open file description of the memfd {@code fd} (through /proc/self/fd): what a reader may be given. */
    public static Fd reopenReadOnly(Fd fd) {
        return Io.open("/proc/self/fd/" + fd.fd(), Linux.O_RDONLY() | Linux.O_CLOEXEC());
    }
}
