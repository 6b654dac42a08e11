package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.kcmp_epoll_slot;

/** kcmp(2): whether two processes share a kernel object, here an open file description. */
public final class Kcmp {
    private Kcmp() {}

    /** True when fd {@code fd1} of {@code pid1} and fd {@code fd2} of {@code pid2} are one open file description. */
    public static boolean sameFile(int pid1, int fd1, int pid2, int fd2) {
        return Syscall.call("kcmp(" + pid1 + ", " + pid2 + ", KCMP_FILE, " + fd1 + ", " + fd2 + ")",
                Linux.__NR_kcmp(), pid1, pid2, Linux.KCMP_FILE(), fd1, fd2) == 0;
    }

    /**
     * True when fd {@code fd} of {@code pid} is the file that epoll {@code epfd} of {@code pid} watches as
     * {@code tfd} (the watch registered for that number, at offset 0); false when it watches another file
     * there, or the fd is closed.
     */
    public static boolean watchedBy(int pid, int epfd, int tfd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment slot = kcmp_epoll_slot.allocate(a);
            kcmp_epoll_slot.efd(slot, epfd);
            kcmp_epoll_slot.tfd(slot, tfd);
            kcmp_epoll_slot.toff(slot, 0);
            return Syscall.call("kcmp(" + pid + ", KCMP_EPOLL_TFD, " + tfd + ", epoll " + epfd + ")",
                    Linux.__NR_kcmp(), pid, pid, Linux.KCMP_EPOLL_TFD(), tfd, slot.address()) == 0;
        } catch (ErrnoException e) {
            if (e.is(Errno.EBADF) || e.is(Errno.ENOENT)) {
                return false;
            }
            throw e;
        }
    }
}
