package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.ipc_perm;
import dev.cryo.bindings.msginfo;
import dev.cryo.bindings.msqid_ds;
import dev.cryo.bindings.seminfo;
import dev.cryo.bindings.semid_ds;
import dev.cryo.bindings.shm_info;
import dev.cryo.bindings.shmid_ds;
import dev.cryo.bindings.stat;

/**
 * SysV IPC of the calling thread's IPC namespace: shared memory segments, semaphore sets, message queues, and
 * the namespace's sysctls. A namespace is per thread: {@link #inNamespace} runs work on a thread of its own
 * that entered another one, so that cryo's other threads stay where they are.
 *
 * <p>On x86-64 the system calls take the kernel's 64-bit structures ({@code shmid64_ds}...), which glibc's
 * {@code shmid_ds}, {@code semid_ds} and {@code msqid_ds} are (LayoutTest checks their layouts).
 */
public final class SysvIpc {

    private SysvIpc() {}

    /** What {@code struct ipc_perm} says of an object: its key, owner, creator and mode. */
    public record Perm(int key, int uid, int gid, int cuid, int cgid, int mode) {
        static Perm of(MemorySegment perm) {
            return new Perm(ipc_perm.__key(perm), ipc_perm.uid(perm), ipc_perm.gid(perm), ipc_perm.cuid(perm),
                    ipc_perm.cgid(perm), ipc_perm.mode(perm));
        }
    }

    /** A shared memory segment: its id, size in bytes, and how many mappings attach it. */
    public record Segment(int id, Perm perm, long size, long attachments) {}

    /** A semaphore set: its id and the number of semaphores in it. */
    public record SemaphoreSet(int id, Perm perm, int nsems) {}

    /** A message queue: its id, the messages in it, and the bytes it may hold (msg_qbytes). */
    public record Queue(int id, Perm perm, long messages, long bytesLimit) {}

    /** Every segment of the namespace, by index order (SHM_INFO, then SHM_STAT of each used index). */
    public static List<Segment> segments() {
        List<Segment> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = shm_info.allocate(a);
            int max = (int) Syscall.call("shmctl(SHM_INFO)", Linux.__NR_shmctl(), 0, Linux.SHM_INFO(), info.address());
            MemorySegment ds = shmid_ds.allocate(a);
            for (int i = 0; i <= max; i++) {
                int id = stat("shmctl(SHM_STAT)", Linux.__NR_shmctl(), i, Linux.SHM_STAT(), ds);
                if (id >= 0) {
                    out.add(new Segment(id, Perm.of(shmid_ds.shm_perm(ds)), shmid_ds.shm_segsz(ds), shmid_ds.shm_nattch(ds)));
                }
            }
        }
        return out;
    }

    /** Every semaphore set of the namespace (SEM_INFO, then SEM_STAT of each used index). */
    public static List<SemaphoreSet> semaphoreSets() {
        List<SemaphoreSet> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = seminfo.allocate(a);
            int max = (int) Syscall.call("semctl(SEM_INFO)", Linux.__NR_semctl(), 0, 0, Linux.SEM_INFO(), info.address());
            MemorySegment ds = semid_ds.allocate(a);
            for (int i = 0; i <= max; i++) {
                int id = stat("semctl(SEM_STAT)", Linux.__NR_semctl(), i, Linux.SEM_STAT(), ds);
                if (id >= 0) {
                    out.add(new SemaphoreSet(id, Perm.of(semid_ds.sem_perm(ds)), (int) semid_ds.sem_nsems(ds)));
                }
            }
        }
        return out;
    }

    /** Every message queue of the namespace (MSG_INFO, then MSG_STAT of each used index). */
    public static List<Queue> queues() {
        List<Queue> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = msginfo.allocate(a);
            int max = (int) Syscall.call("msgctl(MSG_INFO)", Linux.__NR_msgctl(), 0, Linux.MSG_INFO(), info.address());
            MemorySegment ds = msqid_ds.allocate(a);
            for (int i = 0; i <= max; i++) {
                int id = stat("msgctl(MSG_STAT)", Linux.__NR_msgctl(), i, Linux.MSG_STAT(), ds);
                if (id >= 0) {
                    out.add(new Queue(id, Perm.of(msqid_ds.msg_perm(ds)), msqid_ds.msg_qnum(ds), msqid_ds.msg_qbytes(ds)));
                }
            }
        }
        return out;
    }

    /**
     * SHM_STAT, SEM_STAT or MSG_STAT of index {@code index} into {@code ds}: the object's id, or -1 for an unused
     * index (EINVAL; also EIDRM, an object removed meanwhile). semctl takes its buffer as the fourth argument.
     */
    private static int stat(String name, long nr, int index, int cmd, MemorySegment ds) {
        try {
            return (int) (nr == Linux.__NR_semctl()
                    ? Syscall.call(name, nr, index, 0, cmd, ds.address())
                    : Syscall.call(name, nr, index, cmd, ds.address()));
        } catch (ErrnoException e) {
            if (e.is(Errno.EINVAL) || e.errno() == Linux.EIDRM()) {
                return -1;
            }
            throw e;
        }
    }

    /** Bytes of a {@code struct shmid_ds}, the buffer of shmctl(IPC_STAT) (here, or run in another task). */
    public static final long SHMID_DS_SIZE = shmid_ds.sizeof();

    /** shm_segsz of a {@code struct shmid_ds} that shmctl(IPC_STAT) filled: the segment's size in bytes. */
    public static long segmentSize(MemorySegment shmidDs) {
        return shmid_ds.shm_segsz(shmidDs);
    }

    public static int shmget(int key, long size, int flags) {
        return (int) Syscall.call("shmget(key 0x" + Integer.toHexString(key) + ")", Linux.__NR_shmget(), key, size, flags);
    }

    public static int semget(int key, int nsems, int flags) {
        return (int) Syscall.call("semget(key 0x" + Integer.toHexString(key) + ")", Linux.__NR_semget(), key, nsems, flags);
    }

    public static int msgget(int key, int flags) {
        return (int) Syscall.call("msgget(key 0x" + Integer.toHexString(key) + ")", Linux.__NR_msgget(), key, flags);
    }

    /** IPC_SET of a segment: its owner and permission bits (the kernel takes nothing else from it). */
    public static void setSegmentOwner(int id, int uid, int gid, int mode) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ds = shmid_ds.allocate(a);
            Syscall.call("shmctl(" + id + ", IPC_STAT)", Linux.__NR_shmctl(), id, Linux.IPC_STAT(), ds.address());
            owner(shmid_ds.shm_perm(ds), uid, gid, mode);
            Syscall.call("shmctl(" + id + ", IPC_SET)", Linux.__NR_shmctl(), id, Linux.IPC_SET(), ds.address());
        }
    }

    /** IPC_SET of a semaphore set: its owner and permission bits. */
    public static void setSemaphoreOwner(int id, int uid, int gid, int mode) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ds = semid_ds.allocate(a);
            Syscall.call("semctl(" + id + ", IPC_STAT)", Linux.__NR_semctl(), id, 0, Linux.IPC_STAT(), ds.address());
            owner(semid_ds.sem_perm(ds), uid, gid, mode);
            Syscall.call("semctl(" + id + ", IPC_SET)", Linux.__NR_semctl(), id, 0, Linux.IPC_SET(), ds.address());
        }
    }

    /** IPC_SET of a message queue: its owner and permission bits (its byte limit stays as it is). */
    public static void setQueueOwner(int id, int uid, int gid, int mode) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ds = msqid_ds.allocate(a);
            Syscall.call("msgctl(" + id + ", IPC_STAT)", Linux.__NR_msgctl(), id, Linux.IPC_STAT(), ds.address());
            owner(msqid_ds.msg_perm(ds), uid, gid, mode);
            Syscall.call("msgctl(" + id + ", IPC_SET)", Linux.__NR_msgctl(), id, Linux.IPC_SET(), ds.address());
        }
    }

    private static void owner(MemorySegment perm, int uid, int gid, int mode) {
        ipc_perm.uid(perm, uid);
        ipc_perm.gid(perm, gid);
        ipc_perm.mode(perm, mode & 0777);
    }

    /** shmctl(IPC_RMID): the segment goes once nothing attaches it (its key becomes private at once). */
    public static void removeSegment(int id) {
        Syscall.call("shmctl(" + id + ", IPC_RMID)", Linux.__NR_shmctl(), id, Linux.IPC_RMID(), 0);
    }

    /** shmctl(SHM_LOCK): the segment's pages are never swapped out. */
    public static void lockSegment(int id) {
        Syscall.call("shmctl(" + id + ", SHM_LOCK)", Linux.__NR_shmctl(), id, Linux.SHM_LOCK(), 0);
    }

    /** semctl(GETALL): the set's values into {@code values}, a u16 each. */
    public static void semaphoreValues(int id, MemorySegment values) {
        Syscall.call("semctl(" + id + ", GETALL)", Linux.__NR_semctl(), id, 0, Linux.GETALL(), values.address());
    }

    /** semctl(SETALL): the set's values from {@code values}, a u16 each. */
    public static void setSemaphoreValues(int id, MemorySegment values) {
        Syscall.call("semctl(" + id + ", SETALL)", Linux.__NR_semctl(), id, 0, Linux.SETALL(), values.address());
    }

    /**
     * A copy of message {@code index} (0: the oldest) of queue {@code id}, left in the queue (msgrcv with MSG_COPY,
     * which needs CONFIG_CHECKPOINT_RESTORE): its type in the first 8 bytes of {@code buf}, its text after them.
     * Returns the text's length. {@code buf} must hold 8 bytes more than the longest message.
     */
    public static long copyMessage(int id, long index, MemorySegment buf) {
        return Syscall.call("msgrcv(" + id + ", MSG_COPY " + index + ")", Linux.__NR_msgrcv(), id, buf.address(),
                buf.byteSize() - Long.BYTES, index, Linux.IPC_NOWAIT() | Linux.MSG_COPY());
    }

    /** msgsnd without waiting: the type in the first 8 bytes of {@code buf}, then {@code size} bytes of text. */
    public static void sendMessage(int id, MemorySegment buf, long size) {
        Syscall.call("msgsnd(" + id + ")", Linux.__NR_msgsnd(), id, buf.address(), size, Linux.IPC_NOWAIT());
    }

    /**
     * A segment attached in cryo's own address space (shmat), detached on close. Its memory belongs to an arena
     * that the close ends: a slice used afterwards fails with an exception instead of touching memory that is gone.
     */
    public static final class Attachment implements AutoCloseable {
        private final Arena arena;
        private final MemorySegment memory;

        private Attachment(Arena arena, MemorySegment memory) {
            this.arena = arena;
            this.memory = memory;
        }

        /** The segment's memory, its size rounded up to whole pages. */
        public MemorySegment memory() {
            return memory;
        }

        /** {@code /proc/self/map_files/START-END}: opened, the segment's file, whose holes read as zeros without being filled. */
        public String file() {
            return "/proc/self/map_files/" + Long.toHexString(memory.address()) + "-"
                    + Long.toHexString(memory.address() + memory.byteSize());
        }

        /** Whether the segment is in huge pages (SHM_HUGETLB): its file, {@code file} opened, has a block size above a page. */
        public boolean hugePages(Fd file) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment st = stat.allocate(a);
                Syscall.call("fstat(" + file() + ")", Linux.__NR_fstat(), file.fd(), st.address());
                return stat.st_blksize(st) > Page.SIZE;
            }
        }

        @Override
        public void close() {
            if (arena.scope().isAlive()) {
                arena.close();
            }
        }
    }

    /** shmat(id) anywhere in cryo's address space; {@code flags}: SHM_RDONLY or 0. */
    public static Attachment attach(int id, long size, int flags) {
        long addr = Syscall.call("shmat(" + id + ")", Linux.__NR_shmat(), id, 0, flags);
        Arena arena = Arena.ofShared();
        long length = (size + Page.SIZE - 1) / Page.SIZE * Page.SIZE;
        MemorySegment m = MemorySegment.ofAddress(addr).reinterpret(length, arena,
                s -> Syscall.call("shmdt(" + id + ")", Linux.__NR_shmdt(), s.address()));
        return new Attachment(arena, m);
    }

    /** The value of sysctl {@code name} ({@code kernel/msgmax}) as the calling thread's namespaces see it, trimmed. */
    public static String sysctl(String name) {
        try (Fd fd = Io.open("/proc/sys/" + name, Linux.O_RDONLY()); Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(4096);
            long n = Io.read(fd.fd(), buf);
            return new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).trim();
        }
    }

    /** Writes sysctl {@code name} in the calling thread's namespaces. */
    public static void setSysctl(String name, String value) {
        try (Fd fd = Io.open("/proc/sys/" + name, Linux.O_WRONLY()); Arena a = Arena.ofConfined()) {
            MemorySegment text = a.allocateFrom(value + "\n", StandardCharsets.US_ASCII);
            Io.writeFully(fd.fd(), text.asSlice(0, text.byteSize() - 1)); // without allocateFrom's NUL
        } catch (ErrnoException e) {
            throw new ErrnoException("write(/proc/sys/" + name + ", " + value + ")", new long[0], e.errno());
        }
    }

    /** Whether sysctl {@code name} exists in this kernel. */
    public static boolean hasSysctl(String name) {
        return java.nio.file.Files.exists(java.nio.file.Path.of("/proc/sys/" + name));
    }

    /**
     * {@code work}'s result in the IPC namespace that {@code nsFile} names ({@code /proc/PID/ns/ipc}): run on a
     * platform thread of its own that enters it first (setns moves only the calling thread), and ends after.
     */
    public static <T> T inNamespace(String nsFile, Supplier<T> work) {
        AtomicReference<T> answer = new AtomicReference<>();
        AtomicReference<RuntimeException> failed = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("cryo-ipcns").start(() -> {
            try {
                try (Fd ns = Io.open(nsFile, Linux.O_RDONLY())) {
                    Syscall.call("setns(" + nsFile + ", CLONE_NEWIPC)", Linux.__NR_setns(), ns.fd(), Linux.CLONE_NEWIPC());
                }
                answer.set(work.get());
            } catch (RuntimeException e) {
                failed.set(e);
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while working in the IPC namespace " + nsFile, e);
        }
        if (failed.get() != null) {
            throw failed.get();
        }
        return answer.get();
    }
}
