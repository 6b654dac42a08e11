package dev.cryo.dump.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import dev.cryo.dump.DirtyTracker;
import dev.cryo.images.ImageStore;
import dev.cryo.pagepipe.WrittenPages;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Uffd;

/**
 * A process's writes told by a userfaultfd in asynchronous write-protect mode (Linux 6.7+). The uffd is
 * created by the parasite inside the process (so that it belongs to the process's mm) and moved to a high
 * descriptor, where it stays between steps: closing it would unregister the ranges and lose every
 * protection, making all pages look written. cryo works on a duplicate taken with pidfd_getfd. Each
 * snapshot records, in {@value #RECORD}, which descriptor holds each process's uffd; the next step finds it
 * there, and the final dump closes it inside the process so that the dumped fd table is the application's own.
 */
final class UffdTracker implements TaskTracker {
    static final String RECORD = "cryo-uffd.txt";

    /**
     * Where a process keeps its tracker: the fd number, and the inode of that uffd (each userfaultfd has an
     * anon inode of its own, so a copy inherited by a forked child is told apart by it).
     */
    record Kept(int fd, long ino) {}

    private final Fd uffd;
    private final Kept kept;
    private final boolean fresh;
    private final WrittenPages pages;

    private UffdTracker(int pid, Fd uffd, Kept kept, boolean fresh, boolean last) {
        this.uffd = uffd;
        this.kept = kept;
        this.fresh = fresh;
        this.pages = last ? WrittenPages.lastLook(pid, uffd) : new WrittenPages(pid, uffd);
    }

    /** Owns {@code uffd} from here: closed if the tracker cannot be made. */
    private static UffdTracker of(int pid, Fd uffd, Kept kept, boolean fresh) {
        return of(pid, uffd, kept, fresh, false);
    }

    /** {@code last}: the final dump's, whose look does not protect the pages again. */
    private static UffdTracker of(int pid, Fd uffd, Kept kept, boolean fresh, boolean last) {
        try {
            return new UffdTracker(pid, uffd, kept, fresh, last);
        } catch (RuntimeException | Error e) {
            uffd.close();
            throw e;
        }
    }

    /** The uffd's place inside the process, to record for the next step. */
    Kept kept() {
        return kept;
    }

    @Override
    public DirtyTracker kind() {
        return DirtyTracker.UFFD_WP;
    }

    @Override
    public boolean fresh() {
        return fresh;
    }

    /** Nothing to do: each page is protected again as {@link #written} looks at it. */
    @Override
    public void rearm() {
    }

    @Override
    public WrittenPages pages() {
        return pages;
    }

    /**
     * Drops cryo's duplicate; the process keeps its own descriptor (unless {@link #takeOut} closed it). The last
     * reference's close unregisters every range, which takes the kernel a walk of the tracked memory (51 ms for
     * 2 GiB): the final dump closes its tracker only once the tree is released.
     */
    @Override
    public void close() {
        try (uffd) {
            pages.close();
        }
    }

    /**
     * For a pre-dump: the uffd that {@code record} (the previous step's) left in the process, or a new one
     * created in it; empty where the kernel has no asynchronous write-protect (or the task may not use userfaultfd).
     */
    static Optional<UffdTracker> forPreDump(Parasite parasite, Map<Integer, Kept> record) {
        closeInherited(parasite, record);
        Optional<UffdTracker> t = find(parasite.pid(), record.get(parasite.pid()));
        if (t.isPresent()) {
            return t;
        }
        // A new chain: trackers of an abandoned one would keep the mappings registered (EBUSY for ours).
        closeLeftovers(parasite);
        return create(parasite);
    }

    /** For the final dump: the uffd a pre-dump left, taken out of the process (closed there); empty if there is none. */
    static Optional<UffdTracker> takeOut(Parasite parasite, Map<Integer, Kept> record) {
        closeInherited(parasite, record);
        Optional<UffdTracker> t = find(parasite.pid(), record.get(parasite.pid()), true);
        t.ifPresent(u -> parasite.syscall("close(uffd)", Kernel.__NR_close, u.kept.fd()));
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
                parasite.syscall("close(inherited uffd)", Kernel.__NR_close, k.fd());
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
        try (Stream<java.nio.file.Path> s = Files.list(Proc.path(pid, "fd"))) {
            fds = s.map(f -> f.getFileName().toString()).toArray(String[]::new);
        } catch (IOException e) {
            return closed;
        }
        for (String name : fds) {
            int fd = Integer.parseInt(name);
            if (at(pid, fd) != null && features(pid, fd) == Uffd.WP_TRACKING_FEATURES) {
                parasite.syscall("close(left uffd)", Kernel.__NR_close, fd);
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

    /** The uffd a previous step left in the process as {@code kept}, taken from outside (no parasite); empty if gone. */
    static Optional<UffdTracker> find(int pid, Kept kept) {
        return find(pid, kept, false);
    }

    private static Optional<UffdTracker> find(int pid, Kept kept, boolean last) {
        if (kept == null || !kept.equals(at(pid, kept.fd()))) {
            return Optional.empty();
        }
        try (Fd pidfd = Pidfd.open(pid)) {
            return Optional.of(of(pid, Pidfd.getFd(pidfd, kept.fd()), kept, false, last));
        }
    }

    /** A new uffd, created inside the process by the parasite and left there; empty where the kernel has none. */
    static Optional<UffdTracker> create(Parasite parasite) {
        int pid = parasite.pid();
        long fd;
        try {
            fd = parasite.syscall("userfaultfd", Kernel.__NR_userfaultfd, Uffd.CREATE_FLAGS);
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOSYS) || e.is(Errno.EPERM) || e.is(Errno.EINVAL)) {
                return Optional.empty();
            }
            throw e;
        }
        long high;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment api = Uffd.apiRequest(arena, Uffd.WP_TRACKING_FEATURES);
            try (Scratch s = parasite.scratch()) {
                parasite.syscall("ioctl(UFFDIO_API)", Kernel.__NR_ioctl, fd, Uffd.UFFDIO_API, s.put(api));
            } catch (ErrnoException e) {
                parasite.syscall("close", Kernel.__NR_close, fd);
                if (e.is(Errno.EINVAL)) {
                    return Optional.empty(); // no UFFD_FEATURE_WP_ASYNC (before Linux 6.7)
                }
                throw e;
            }
            // Out of the way of the application's lowest-free-number opens, within the table it already has.
            int min = Math.max(3, Integer.parseInt(Proc.status(pid, "FDSize").trim()) - 1);
            high = parasite.syscall("fcntl(F_DUPFD_CLOEXEC)", Kernel.__NR_fcntl, fd, Kernel.F_DUPFD_CLOEXEC, min);
            parasite.syscall("close", Kernel.__NR_close, fd);
        }
        Kept kept = at(pid, (int) high);
        try (Fd pidfd = Pidfd.open(pid)) {
            return Optional.of(of(pid, Pidfd.getFd(pidfd, (int) high), kept != null ? kept : new Kept((int) high, 0), true));
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
}
