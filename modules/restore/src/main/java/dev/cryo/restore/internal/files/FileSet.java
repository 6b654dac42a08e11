package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FileLockEntry;
import dev.cryo.images.proto.TtyInfoEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.SkPacketEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Memfd;

/**
 * The files of one restore: files.img with the data that pipes, FIFOs and sockets held, read once for
 * every task; and cryo's own duplicate of each open file description restored so far, so that a second
 * task (or a second fd) that shares a file gets the same one, offset and all. Closing drops cryo's copies.
 */
public final class FileSet implements AutoCloseable {
    private final ImageStore store;
    private final Arena arena = Arena.ofShared();
    private final Map<Integer, FileEntry> byId = new HashMap<>();
    private final Map<Long, MemorySegment> pipeData = new HashMap<>();
    private final Map<Long, Integer> pipeSizes = new HashMap<>();
    private final Map<Long, MemorySegment> fifoData = new HashMap<>();
    private final Map<Integer, List<Packet>> socketQueues = new HashMap<>();
    /** unix sockets of files.img (external peers too), by inode */
    private final Map<Long, FileEntry> unixByIno = new HashMap<>();
    /** file ids of the sockets whose queue is refilled already */
    private final java.util.Set<Integer> refilled = new java.util.HashSet<>();
    /** O_PATH fds of the files that unlinked sockets are bound to, by socket inode: their peers connect through them */
    private final Map<Long, Fd> unlinkedNames = new HashMap<>();
    private NetworkRestore network;
    /** cryo's duplicates: open file descriptions by file id, pipe ends by pipe id, sockets by inode. */
    private final Map<Integer, Fd> opened = new HashMap<>();
    private final Map<Long, Fd[]> pipes = new HashMap<>();
    private final Map<Long, Fd> sockets = new HashMap<>();
    private final Map<Long, Fd> fifoKeepers = new HashMap<>();
    private final Map<Integer, MemfdInodeEntry> memfdInodes = new HashMap<>();
    private final Map<Integer, Fd> memfds = new HashMap<>();
    private final List<FileLockEntry> locks = new ArrayList<>();
    private final Map<Integer, TtyInfoEntry> ttyInfos = new HashMap<>();
    /** cryo's opening of each pty master made so far, by index. */
    private final Map<Integer, Fd> ptyMasters = new HashMap<>();

    /** The restores under way, each with the pids whose fds are still to come. */
    private static final Map<ImageStore, FileSet> SHARED = new java.util.IdentityHashMap<>();
    private final java.util.Set<Integer> pending = new java.util.HashSet<>();

    private FileSet(ImageStore store) {
        this.store = store;
    }

    /**
     * The one file set of the restore from {@code store}, for every task of its tree: read at the first
     * task's call, closed when the last task of pstree.img is {@link #done done} (or when one fails).
     */
    static synchronized FileSet shared(ImageStore store) {
        FileSet s = SHARED.get(store);
        if (s == null) {
            s = read(store);
            try (EntryReader r = store.openReader(ImageKind.PSTREE)) {
                for (dev.cryo.images.proto.PstreeEntry p : r.readAll(dev.cryo.images.proto.PstreeEntry.parser())) {
                    s.pending.add(p.getPid());
                }
            } catch (RuntimeException e) {
                s.close();
                throw e;
            }
            SHARED.put(store, s);
        }
        return s;
    }

    /**
     * Task {@code pid} has its fds. After the last one, every mapping and fd of the tree is in place: the
     * memfds get their seals, and cryo's copies are closed (pipes see their last writer go).
     */
    void done(int pid) {
        synchronized (FileSet.class) {
            pending.remove(pid);
            if (pending.isEmpty()) {
                try {
                    sealMemfds();
                    Ptys.settle(this);
                } finally {
                    abandon();
                }
            }
        }
    }

    /** Adds each restored memfd's seals, through cryo's duplicate: the last step of a memfd (see MemfdRestorer). */
    void sealMemfds() {
        memfds.forEach((inodeId, copy) -> {
            MemfdInodeEntry e = memfdInode(inodeId);
            if (e.getSeals() != 0) {
                try {
                    Memfd.addSeals(copy, e.getSeals());
                } catch (ErrnoException x) {
                    throw new RestoreError("cannot seal memfd " + e.getName() + " (seals 0x"
                            + Integer.toHexString(e.getSeals()) + "): " + x.getMessage(), x);
                }
            }
        });
    }

    static void abandonIfOpen(ImageStore store) {
        FileSet s;
        synchronized (FileSet.class) {
            s = SHARED.get(store);
        }
        if (s != null) {
            s.abandon();
        }
    }

    /** Closes the shared set now: the restore failed, or every task is done. */
    void abandon() {
        synchronized (FileSet.class) {
            SHARED.remove(store, this);
        }
        close();
    }

    /** Reads files.img and the data images beside it; missing data images mean empty pipes and queues. */
    public static FileSet read(ImageStore store) {
        FileSet s = new FileSet(store);
        try {
            if (store.exists(ImageKind.FILES.fileName())) {
                try (EntryReader r = store.openReader(ImageKind.FILES)) {
                    for (FileEntry f : r.readAll(FileEntry.parser())) {
                        s.byId.put(f.getId(), f);
                        if (f.hasUsk()) {
                            s.unixByIno.put(Integer.toUnsignedLong(f.getUsk().getIno()), f);
                        }
                    }
                }
            }
            if (store.exists(ImageKind.MEMFD_INODE.fileName())) {
                try (EntryReader r = store.openReader(ImageKind.MEMFD_INODE)) {
                    for (MemfdInodeEntry m : r.readAll(MemfdInodeEntry.parser())) {
                        s.memfdInodes.put((int) m.getInodeId(), m);
                    }
                }
            }
            if (store.exists(ImageKind.TTY_INFO.fileName())) {
                try (EntryReader r = store.openReader(ImageKind.TTY_INFO)) {
                    for (TtyInfoEntry t : r.readAll(TtyInfoEntry.parser())) {
                        s.ttyInfos.put(t.getId(), t);
                    }
                }
            }
            if (store.exists(ImageKind.FILE_LOCKS.fileName())) {
                try (EntryReader r = store.openReader(ImageKind.FILE_LOCKS)) {
                    s.locks.addAll(r.readAll(FileLockEntry.parser()));
                }
            }
            s.readData(ImageKind.PIPES_DATA, s.pipeData, s.pipeSizes);
            s.readData(ImageKind.FIFO_DATA, s.fifoData, new HashMap<>());
            if (store.exists(ImageKind.SK_QUEUES.fileName())) {
                try (EntryReader r = store.openReader(ImageKind.SK_QUEUES)) {
                    for (SkPacketEntry e; (e = r.next(SkPacketEntry.parser())) != null; ) {
                        MemorySegment data = s.arena.allocate(Math.max(1, e.getLength())).asSlice(0, e.getLength());
                        r.readPayload(data);
                        List<Integer> rights = new ArrayList<>();
                        for (dev.cryo.images.proto.ScmEntry scm : e.getScmList()) {
                            if (scm.getType() != Kernel.SCM_RIGHTS) {
                                throw new RestoreError("sk-queues.img: a packet for file " + e.getIdFor()
                                        + " carries control message type " + scm.getType() + ", not SCM_RIGHTS");
                            }
                            rights.addAll(scm.getRightsList());
                        }
                        s.socketQueues.computeIfAbsent(e.getIdFor(), k -> new ArrayList<>()).add(new Packet(data, rights));
                    }
                }
            }
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private void readData(ImageKind kind, Map<Long, MemorySegment> into, Map<Long, Integer> sizes) {
        if (!store.exists(kind.fileName())) {
            return;
        }
        try (EntryReader r = store.openReader(kind)) {
            for (PipeDataEntry e; (e = r.next(PipeDataEntry.parser())) != null; ) {
                long id = Integer.toUnsignedLong(e.getPipeId());
                MemorySegment data = arena.allocate(Math.max(1, e.getBytes())).asSlice(0, e.getBytes());
                r.readPayload(data);
                into.put(id, data);
                if (e.hasSize()) {
                    sizes.put(id, e.getSize());
                }
            }
        }
    }

    /** The locks that task {@code pid} (as dumped) took, to take again once its fds are in place. */
    List<FileLockEntry> locks(int pid) {
        return locks.stream().filter(l -> l.getPid() == pid).toList();
    }

    TtyInfoEntry ttyInfo(int id) {
        TtyInfoEntry t = ttyInfos.get(id);
        if (t == null) {
            throw new RestoreError("tty-info.img holds no terminal " + id);
        }
        return t;
    }

    /** The masters' tty-info entries. */
    List<TtyInfoEntry> ptyMasterInfos() {
        return ttyInfos.values().stream().filter(t -> (t.getId() & 1) == 1).toList();
    }

    /** cryo's master of pty {@code index}, made now (at that index) if no task needed it yet. */
    Fd ptyMaster(int index) {
        return ptyMasters.computeIfAbsent(index, Ptys::open);
    }

    Map<Integer, Fd> ptyMasters() {
        return ptyMasters;
    }

    ImageStore store() {
        return store;
    }

    /** File {@code id} of files.img, or null. */
    FileEntry file(int id) {
        return byId.get(id);
    }

    FileEntry file(int id, int fd, int pid) {
        FileEntry f = byId.get(id);
        if (f == null) {
            throw new RestoreError("fdinfo of pid " + pid + ": fd " + fd + " points at file " + id
                    + ", which files.img does not hold");
        }
        return f;
    }

    MemorySegment pipeData(long pipeId) {
        return pipeData.get(pipeId);
    }

    int pipeSize(long pipeId) {
        return pipeSizes.getOrDefault(pipeId, 0);
    }

    MemorySegment fifoData(long pipeId) {
        return fifoData.get(pipeId);
    }

    /** One packet waiting in a socket's receive queue, with the file ids of the fds riding on it. */
    record Packet(MemorySegment data, List<Integer> rights) {}

    /** The packets queued on the socket with file id {@code id}, oldest first. */
    List<Packet> socketQueue(int id) {
        return socketQueues.getOrDefault(id, List.of());
    }

    /** Files opened ahead of their first fd ({@link TaskFiles#inCryo}): their flags, owner and finish come with it. */
    private final java.util.Set<Integer> madeAhead = new java.util.HashSet<>();

    void madeAhead(int id) {
        madeAhead.add(id);
    }

    /** Whether file {@code id} was opened ahead and this is its first fd: true once only. */
    boolean claimMadeAhead(int id) {
        return madeAhead.remove(id);
    }

    /** Claims the refill of socket {@code id}'s queue: true the first time only. */
    boolean claimRefill(int id) {
        return refilled.add(id);
    }

    /** The unix socket of files.img with inode {@code ino} (an external peer's entry too), or null. */
    FileEntry unixSocket(long ino) {
        return unixByIno.get(ino);
    }

    Fd unlinkedName(long ino) {
        return unlinkedNames.get(ino);
    }

    void rememberUnlinkedName(long ino, Fd path) {
        Fd old = unlinkedNames.put(ino, path);
        if (old != null) {
            old.close();
        }
    }

    /** What the restore allows of connections, and where repaired TCP connections wait for the release. */
    NetworkRestore network() {
        if (network == null) {
            throw new RestoreError("the restore's network options are not set");
        }
        return network;
    }

    void network(NetworkRestore n) {
        if (network == null) {
            network = n;
        }
    }

    Fd opened(int fileId) {
        return opened.get(fileId);
    }

    void remember(int fileId, Fd copy) {
        Fd old = opened.put(fileId, copy);
        if (old != null) {
            old.close();
        }
    }

    /** cryo's read and write ends of pipe {@code pipeId}, or null before a task created it. */
    Fd[] pipe(long pipeId) {
        return pipes.get(pipeId);
    }

    void rememberPipe(long pipeId, Fd read, Fd write) {
        pipes.put(pipeId, new Fd[] {read, write});
    }

    MemfdInodeEntry memfdInode(int inodeId) {
        MemfdInodeEntry m = memfdInodes.get(inodeId);
        if (m == null) {
            throw new RestoreError("memfd.img holds no inode " + inodeId);
        }
        return m;
    }

    /** cryo's duplicate of the memfd restored for inode {@code inodeId}, or null before a task created it. */
    Fd memfd(int inodeId) {
        return memfds.get(inodeId);
    }

    void rememberMemfd(int inodeId, Fd copy) {
        memfds.put(inodeId, copy);
    }

    Fd socket(long ino) {
        return sockets.get(ino);
    }

    void rememberSocket(long ino, Fd copy) {
        sockets.put(ino, copy);
    }

    /**
     * cryo's own O_RDWR opening of a FIFO: it keeps the FIFO's buffer alive, holds its data, and lets a
     * task's blocking O_RDONLY or O_WRONLY open return at once.
     */
    Fd fifoKeeper(long pipeId, String path) {
        Fd keeper = fifoKeepers.get(pipeId);
        if (keeper == null) {
            keeper = Io.open(path, Kernel.O_RDWR | Kernel.O_NONBLOCK);
            fifoKeepers.put(pipeId, keeper);
            MemorySegment data = fifoData(pipeId);
            if (data != null && data.byteSize() > 0) {
                Io.writeFully(keeper.fd(), data);
            }
        }
        return keeper;
    }

    @Override
    public void close() {
        if (!arena.scope().isAlive()) {
            return;
        }
        for (Fd f : opened.values()) {
            f.close();
        }
        for (Fd[] p : pipes.values()) {
            p[0].close();
            p[1].close();
        }
        for (Fd f : sockets.values()) {
            f.close();
        }
        for (Fd f : memfds.values()) {
            f.close();
        }
        for (Fd f : fifoKeepers.values()) {
            f.close();
        }
        for (Fd f : unlinkedNames.values()) {
            f.close();
        }
        for (Fd f : ptyMasters.values()) {
            f.close();
        }
        arena.close();
    }
}
