package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.uffdio_api;
import dev.cryo.images.ImageStore;
import dev.cryo.images.RawReader;
import dev.cryo.images.RawWriter;
import dev.cryo.pagepipe.WrittenPages;
import dev.cryo.parasite.Parasite;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Uffd;

/**
 * The userfaultfd that tracks one process's writes between steps of an iterative dump. The parasite creates
 * it inside the process (so that it belongs to the process's mm) and moves it to a high descriptor, where
 * it stays between steps: closing it would unregister the ranges and lose every protection, making all
 * pages look written. cryo works on a duplicate taken with pidfd_getfd. Each snapshot records, in
 * {@value #RECORD}, which descriptor holds each process's uffd; the next step finds it there, and the final
 * dump closes it inside the process so that the dumped fd table is the application's own.
 */
final class TaskTracker implements AutoCloseable {
    static final String RECORD = "cryo-uffd.txt";
    static final String NAME = "uffd-wp";

    private final Fd uffd;
    private final int taskFd;
    private final boolean fresh;
    private final WrittenPages pages;

    private TaskTracker(int pid, Fd uffd, int taskFd, boolean fresh) {
        this.uffd = uffd;
        this.taskFd = taskFd;
        this.fresh = fresh;
        this.pages = new WrittenPages(pid, uffd);
    }

    /** The tracker's descriptor inside the process, to record for the next step. */
    int taskFd() {
        return taskFd;
    }

    /** Created by this step: nothing is tracked yet, every range must be registered and written whole. */
    boolean fresh() {
        return fresh;
    }

    WrittenPages pages() {
        return pages;
    }

    /**
     * For a pre-dump: the uffd that {@code previous} left in the process, or a new one created in it.
     * Returns null where the kernel has no asynchronous write-protect (or the task may not use userfaultfd).
     */
    static TaskTracker forPreDump(Parasite parasite, Integer previous) {
        TaskTracker t = find(parasite.pid(), previous);
        return t != null ? t : create(parasite);
    }

    /** For the final dump: the uffd a pre-dump left, taken out of the process (closed there); null if none. */
    static TaskTracker forDump(Parasite parasite, Integer previous) {
        TaskTracker t = find(parasite.pid(), previous);
        if (t != null) {
            parasite.syscall("close(uffd)", Linux.__NR_close(), t.taskFd);
        }
        return t;
    }

    /** The uffd a previous step left at {@code fd} in the process, taken from outside (no parasite); null if gone. */
    static TaskTracker find(int pid, Integer fd) {
        if (fd == null) {
            return null;
        }
        String link;
        try {
            link = Io.readlink("/proc/" + pid + "/fd/" + fd);
        } catch (ErrnoException e) {
            return null;
        }
        if (!link.equals("anon_inode:[userfaultfd]")) {
            return null;
        }
        try (Fd pidfd = Pidfd.open(pid)) {
            return new TaskTracker(pid, Pidfd.getFd(pidfd, fd), fd, false);
        }
    }

    /** A new uffd, created inside the process by the parasite and left there; null where the kernel has none. */
    static TaskTracker create(Parasite parasite) {
        int pid = parasite.pid();
        long fd;
        try {
            fd = parasite.syscall("userfaultfd", Linux.__NR_userfaultfd(), Linux.O_CLOEXEC() | Linux.UFFD_USER_MODE_ONLY());
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOSYS) || e.is(Errno.EPERM) || e.is(Errno.EINVAL)) {
                return null;
            }
            throw e;
        }
        long high;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment api = uffdio_api.allocate(arena);
            uffdio_api.api(api, Linux.UFFD_API());
            uffdio_api.features(api, Uffd.WP_TRACKING_FEATURES);
            parasite.writeScratch(0, api);
            try {
                parasite.syscall("ioctl(UFFDIO_API)", Linux.__NR_ioctl(), fd, Linux.UFFDIO_API(), parasite.scratch());
            } catch (ErrnoException e) {
                parasite.syscall("close", Linux.__NR_close(), fd);
                if (e.is(Errno.EINVAL)) {
                    return null; // no UFFD_FEATURE_WP_ASYNC (before Linux 6.7)
                }
                throw e;
            }
            // Out of the way of the application's lowest-free-number opens, within the table it already has.
            int min = Math.max(3, Integer.parseInt(Proc.status(pid, "FDSize").trim()) - 1);
            high = parasite.syscall("fcntl(F_DUPFD_CLOEXEC)", Linux.__NR_fcntl(), fd, Linux.F_DUPFD_CLOEXEC(), min);
            parasite.syscall("close", Linux.__NR_close(), fd);
        }
        try (Fd pidfd = Pidfd.open(pid)) {
            return new TaskTracker(pid, Pidfd.getFd(pidfd, (int) high), (int) high, true);
        }
    }

    /** Drops cryo's duplicate; the process keeps its own descriptor (unless {@link #forDump} closed it). */
    @Override
    public void close() {
        try (uffd) {
            pages.close();
        }
    }

    /** The pid -> descriptor record that {@code store}'s snapshot left; empty if it has none. */
    static Map<Integer, Integer> readRecord(ImageStore store) {
        Map<Integer, Integer> out = new LinkedHashMap<>();
        if (store == null || !store.exists(RECORD)) {
            return out;
        }
        try (RawReader r = store.openRawReader(RECORD); Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(Math.max(1, r.size())).asSlice(0, r.size());
            r.readFully(data, 0);
            for (String line : new String(data.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 2) {
                    out.put(Integer.parseInt(f[0]), Integer.parseInt(f[1]));
                }
            }
        }
        return out;
    }

    static void writeRecord(ImageStore store, Map<Integer, Integer> fds) {
        StringBuilder text = new StringBuilder("# pid, and the fd of cryo's write-tracking userfaultfd inside it\n");
        fds.forEach((pid, fd) -> text.append(pid).append(' ').append(fd).append('\n'));
        try (RawWriter w = store.openRawWriter(RECORD)) {
            w.write(MemorySegment.ofArray(text.toString().getBytes(StandardCharsets.US_ASCII)));
            w.commit();
        }
    }
}
