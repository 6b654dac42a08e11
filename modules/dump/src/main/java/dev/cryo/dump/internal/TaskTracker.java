package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.uffdio_api;
import dev.cryo.dump.DirtyTracker;
import dev.cryo.images.ImageStore;
import dev.cryo.pagepipe.SoftDirtyPages;
import dev.cryo.pagepipe.WriteTracking;
import dev.cryo.pagepipe.WrittenPages;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.KernelFeatures;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Uffd;

/**
 * What tracks one process's writes between steps of an iterative dump: a userfaultfd in asynchronous
 * write-protect mode where the kernel has one (Linux 6.7+), else the soft-dirty bit where the kernel keeps it.
 *
 * <p>The userfaultfd is created by the parasite inside the process (so that it belongs to the process's mm)
 * and moved to a high descriptor, where it stays between steps: closing it would unregister the ranges and
 * lose every protection, making all pages look written. cryo works on a duplicate taken with pidfd_getfd.
 * Each snapshot records, in {@value #RECORD}, which descriptor holds each process's uffd; the next step
 * finds it there, and the final dump closes it inside the process so that the dumped fd table is the
 * application's own.
 *
 * <p>Soft-dirty keeps nothing in the process: each pre-dump looks at the bits, then clears them, both while
 * the tree is stopped. {@value #SOFT_DIRTY_RECORD} names the processes (pid and start time, against pid
 * reuse) whose bits a snapshot cleared; only for those does the next step trust a clear bit.
 */
final class TaskTracker implements AutoCloseable {
    static final String RECORD = "cryo-uffd.txt";
    static final String SOFT_DIRTY_RECORD = "cryo-soft-dirty.txt";

    /**
     * Where a process keeps its tracker: the fd number, and the inode of that uffd (each userfaultfd has an
     * anon inode of its own, so a copy inherited by a forked child is told apart by it).
     */
    record Kept(int fd, long ino) {}

    private final Fd uffd;
    private final Kept kept;
    /** For soft-dirty: the process's start time, which the record keeps beside its pid; 0 for a uffd. */
    private final long started;
    private final boolean fresh;
    private final WriteTracking pages;

    private TaskTracker(Fd uffd, Kept kept, long started, boolean fresh, WriteTracking pages) {
        this.uffd = uffd;
        this.kept = kept;
        this.started = started;
        this.fresh = fresh;
        this.pages = pages;
    }

    private static TaskTracker uffd(int pid, Fd uffd, Kept kept, boolean fresh) {
        return new TaskTracker(uffd, kept, 0, fresh, new WrittenPages(pid, uffd));
    }

    /** Which way it tracks, as DumpStats reports it. */
    DirtyTracker kind() {
        return uffd != null ? DirtyTracker.UFFD_WP : DirtyTracker.SOFT_DIRTY;
    }

    /** The uffd's place inside the process, to record for the next step; null for soft-dirty. */
    Kept kept() {
        return kept;
    }

    /** Created by this step: nothing is tracked yet, every range must be registered and written whole. */
    boolean fresh() {
        return fresh;
    }

    WriteTracking pages() {
        return pages;
    }

    /**
     * For soft-dirty: a tracker of {@code pid}, fresh unless {@code cleared} (the previous snapshot's record)
     * says that snapshot cleared this same process's bits.
     */
    static TaskTracker softDirty(int pid, Map<Integer, Long> cleared) {
        long started = Proc.stat(pid).longField(22); // clock ticks after boot: tells a reused pid apart
        Long recorded = cleared.get(pid);
        return new TaskTracker(null, null, started, recorded == null || recorded != started, new SoftDirtyPages(pid));
    }

    /** For soft-dirty: the process's start time, to record beside its pid for the next step. */
    long started() {
        return started;
    }

    /**
     * After a pre-dump has looked at the written pages, with the process still stopped: soft-dirty clears the
     * bits, so that the next step sees the writes from now on. A uffd re-protects each page as it looks.
     */
    void rearm() {
        if (pages instanceof SoftDirtyPages s) {
            s.clear();
        }
    }

    /**
     * For a pre-dump: the uffd that {@code previous} left in the process, or a new one created in it.
     * Returns null where the kernel has no asynchronous write-protect (or the task may not use userfaultfd).
     */
    static TaskTracker forPreDump(Parasite parasite, Map<Integer, Kept> record) {
        closeInherited(parasite, record);
        TaskTracker t = find(parasite.pid(), record.get(parasite.pid()));
        if (t != null) {
            return t;
        }
        // A new chain: trackers of an abandoned one would keep the mappings registered (EBUSY for ours).
        closeLeftovers(parasite);
        return create(parasite);
    }

    /**
     * For the final dump: the uffd a pre-dump left, taken out of the process (closed there), or where the
     * kernel tracks with soft-dirty, the bits a pre-dump cleared ({@code cleared}); null if neither.
     */
    static TaskTracker forDump(Parasite parasite, Map<Integer, Kept> record, Map<Integer, Long> cleared) {
        if (KernelFeatures.dirtyTracker() == KernelFeatures.DirtyTracker.SOFT_DIRTY) {
            TaskTracker t = softDirty(parasite.pid(), cleared);
            if (t.fresh()) {
                t.close();
                return null;
            }
            return t;
        }
        closeInherited(parasite, record);
        TaskTracker t = find(parasite.pid(), record.get(parasite.pid()));
        if (t != null) {
            parasite.syscall("close(uffd)", Linux.__NR_close(), t.kept.fd());
        }
        return t;
    }

    /**
     * Closes, in a process, the copies of other processes' trackers that it inherited by fork after a
     * pre-dump: they are cryo's, not the application's, and belong to its parent's memory.
     */
    static void closeInherited(Parasite parasite, Map<Integer, Kept> record) {
        int pid = parasite.pid();
        for (Map.Entry<Integer, Kept> e : record.entrySet()) {
            Kept k = e.getValue();
            if (e.getKey() != pid && k.equals(at(pid, k.fd()))) {
                parasite.syscall("close(inherited uffd)", Linux.__NR_close(), k.fd());
            }
        }
    }

    /**
     * Closes, in a process that a dump without a chain meets, the trackers that earlier pre-dumps left
     * there: a userfaultfd with exactly the features cryo asks for. Returns the fds closed.
     */
    static List<Integer> closeLeftovers(Parasite parasite) {
        int pid = parasite.pid();
        List<Integer> closed = new ArrayList<>();
        String[] fds;
        try (var s = java.nio.file.Files.list(Proc.path(pid, "fd"))) {
            fds = s.map(f -> f.getFileName().toString()).toArray(String[]::new);
        } catch (java.io.IOException e) {
            return closed;
        }
        for (String name : fds) {
            int fd = Integer.parseInt(name);
            if (at(pid, fd) != null && features(pid, fd) == Uffd.WP_TRACKING_FEATURES) {
                parasite.syscall("close(left uffd)", Linux.__NR_close(), fd);
                closed.add(fd);
            }
        }
        return closed;
    }

    /** The features fdinfo shows for a userfaultfd, without the kernel's internal "initialized" bit. */
    private static long features(int pid, int fd) {
        try {
            for (String line : Proc.read(pid, "fdinfo/" + fd).split("\n")) {
                if (line.startsWith("API:")) {
                    String[] f = line.substring(4).trim().split(":");
                    return Long.parseUnsignedLong(f[1], 16) & ~(1L << 31);
                }
            }
        } catch (Proc.TaskGoneException | NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // not a userfaultfd's fdinfo after all
        }
        return -1;
    }

    /** The uffd at {@code fd} in the process, or null if that fd is something else or nothing. */
    private static Kept at(int pid, int fd) {
        try {
            if (!Io.readlink("/proc/" + pid + "/fd/" + fd).equals("anon_inode:[userfaultfd]")) {
                return null;
            }
            for (String line : Proc.read(pid, "fdinfo/" + fd).split("\n")) {
                if (line.startsWith("ino:")) {
                    return new Kept(fd, Long.parseLong(line.substring(4).trim()));
                }
            }
            return new Kept(fd, 0);
        } catch (ErrnoException | Proc.TaskGoneException e) {
            return null;
        }
    }

    /** The uffd a previous step left in the process as {@code kept}, taken from outside (no parasite); null if gone. */
    static TaskTracker find(int pid, Kept kept) {
        if (kept == null || !kept.equals(at(pid, kept.fd()))) {
            return null;
        }
        try (Fd pidfd = Pidfd.open(pid)) {
            return uffd(pid, Pidfd.getFd(pidfd, kept.fd()), kept, false);
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
            try (Scratch s = parasite.scratch()) {
                parasite.syscall("ioctl(UFFDIO_API)", Linux.__NR_ioctl(), fd, Linux.UFFDIO_API(), s.put(api));
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
        Kept kept = at(pid, (int) high);
        try (Fd pidfd = Pidfd.open(pid)) {
            return uffd(pid, Pidfd.getFd(pidfd, (int) high), kept != null ? kept : new Kept((int) high, 0), true);
        }
    }

    /** Drops cryo's duplicate; the process keeps its own descriptor (unless {@link #forDump} closed it). */
    @Override
    public void close() {
        try (uffd) {
            pages.close();
        }
    }

    /** The pid -> uffd record that {@code store}'s snapshot left; empty if it has none. */
    static Map<Integer, Kept> readRecord(ImageStore store) {
        Map<Integer, Kept> out = new LinkedHashMap<>();
        SnapshotRecords.read(store, RECORD, 3,
                f -> out.put(Integer.parseInt(f[0]), new Kept(Integer.parseInt(f[1]), Long.parseLong(f[2]))));
        return out;
    }

    static void writeRecord(ImageStore store, Map<Integer, Kept> record) {
        StringBuilder text = new StringBuilder("# pid, fd and inode of cryo's write-tracking userfaultfd inside it\n");
        record.forEach((pid, k) -> text.append(pid).append(' ').append(k.fd()).append(' ').append(k.ino()).append('\n'));
        SnapshotRecords.write(store, RECORD, text);
    }

    /** The pid -> start time of the processes whose soft-dirty bits {@code store}'s snapshot cleared. */
    static Map<Integer, Long> readSoftDirtyRecord(ImageStore store) {
        Map<Integer, Long> out = new LinkedHashMap<>();
        SnapshotRecords.read(store, SOFT_DIRTY_RECORD, 2, f -> out.put(Integer.parseInt(f[0]), Long.parseLong(f[1])));
        return out;
    }

    static void writeSoftDirtyRecord(ImageStore store, Map<Integer, Long> cleared) {
        StringBuilder text = new StringBuilder("# pid and start time of each process whose soft-dirty bits this snapshot cleared\n");
        cleared.forEach((pid, started) -> text.append(pid).append(' ').append(started).append('\n'));
        SnapshotRecords.write(store, SOFT_DIRTY_RECORD, text);
    }
}
