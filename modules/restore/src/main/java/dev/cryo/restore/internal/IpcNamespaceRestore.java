package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.IpcDescEntry;
import dev.cryo.images.proto.IpcMsg;
import dev.cryo.images.proto.IpcMsgEntry;
import dev.cryo.images.proto.IpcSemEntry;
import dev.cryo.images.proto.IpcShmEntry;
import dev.cryo.images.proto.IpcVarEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.restore.internal.TreeImages.ProcessImages;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.SysvIpc;

/**
 * The tree's IPC namespace, made again as CRIU makes it, without being asked: when the cores name another IPC
 * namespace (ipc_ns_id) than inventory.img's root_ids (the dumper's own), the root is cloned into a new one
 * ({@link #cloneFlags}), which a thread of cryo's then enters and fills before any task maps memory: the
 * limits, then each segment (with its contents), queue (with its messages, in order) and semaphore set (with its
 * values) under its dumped id (the namespace's {@code *_next_id} sysctl set before each is created), key, owner
 * and mode. The tasks attach their segments as they build their memory; then {@link #finish} marks for removal
 * the segments that were (SHM_DEST), locks the locked ones, and sets the limits and next ids that creating the
 * objects needed otherwise.
 *
 * <p>Everything is read and checked when the images are ({@link #read}), before anything starts.
 */
final class IpcNamespaceRestore {
    /** The sysctls of ipc_var_entry other than kernel/sem, in CRIU's order: field and file under /proc/sys. */
    private static final String[][] LIMITS = {
            {"msg_ctlmnb", "kernel/msgmnb"}, {"msg_ctlmni", "kernel/msgmni"}, {"auto_msgmni", "kernel/auto_msgmni"},
            {"shm_ctlmax", "kernel/shmmax"}, {"shm_ctlall", "kernel/shmall"}, {"shm_ctlmni", "kernel/shmmni"},
            {"mq_queues_max", "fs/mqueue/queues_max"}, {"mq_msg_max", "fs/mqueue/msg_max"},
            {"mq_msgsize_max", "fs/mqueue/msgsize_max"}, {"mq_msg_default", "fs/mqueue/msg_default"},
            {"mq_msgsize_default", "fs/mqueue/msgsize_default"}};
    /** The largest message the kernel takes (kernel/msgmax is an int), allowed while messages go in. */
    private static final String ANY_MESSAGE = Integer.toString(Integer.MAX_VALUE);
    private static final long CHUNK = 1 << 20;

    /** No IPC namespace of the tree's own: it shares the restorer's. */
    static final IpcNamespaceRestore NONE = new IpcNamespaceRestore(null, -1, null, List.of());

    private final ImageStore store;
    private final long id;
    private final IpcVarEntry limits;
    private final List<IpcShmEntry> segments;

    private IpcNamespaceRestore(ImageStore store, long id, IpcVarEntry limits, List<IpcShmEntry> segments) {
        this.store = store;
        this.id = id;
        this.limits = limits;
        this.segments = segments;
    }

    /**
     * The namespace the images hold, checked: every process in the root's namespace, its images whole (each payload
     * present, each queue's messages all there; an image of no objects may be missing, as CRIU writes none), every
     * SysV mapping within a segment of it.
     */
    static IpcNamespaceRestore read(ImageStore store, TreeImages tree) {
        InventoryEntry inv = tree.inventory();
        ProcessImages root = tree.root();
        boolean own = inv.hasRootIds() && inv.getRootIds().hasIpcNsId() && root.leaderCore().getIds().hasIpcNsId()
                && inv.getRootIds().getIpcNsId() != root.leaderCore().getIds().getIpcNsId();
        if (!own) {
            for (ProcessImages p : tree.processes()) {
                for (VmaEntry v : p.mm().getVmasList()) {
                    if ((v.getStatus() & VmaStatus.VMA_AREA_SYSVIPC) != 0) {
                        throw new RestoreError(ImageKind.MM.fileName(p.pid()) + ": mapping 0x" + Long.toHexString(v.getStart())
                                + " is SysV shared memory (segment " + v.getShmid() + "), but the dump holds no IPC namespace");
                    }
                }
            }
            return NONE;
        }
        long id = Integer.toUnsignedLong(root.leaderCore().getIds().getIpcNsId());
        for (ProcessImages p : tree.processes()) {
            long ns = Integer.toUnsignedLong(p.leaderCore().getIds().getIpcNsId());
            if (ns != id) {
                throw new RestoreError(ImageKind.CORE.fileName(p.pid()) + ": ipc_ns_id " + ns + " is not the root's (" + id
                        + "); a tree with more than one IPC namespace is not restored");
            }
        }
        if (!store.exists(ImageKind.IPC_VAR.fileName(id))) {
            throw new RestoreError(ImageKind.IPC_VAR.fileName(id) + " is missing (the cores' IPC namespace " + id + " is the tree's own)");
        }
        IpcVarEntry limits = store.readEntry(ImageKind.IPC_VAR, id, IpcVarEntry.parser());
        List<IpcShmEntry> segments = List.of();
        if (store.exists(ImageKind.IPCNS_SHM.fileName(id))) {
            try (EntryReader r = store.openReader(ImageKind.IPCNS_SHM, id)) {
                segments = r.readAll(IpcShmEntry.parser()); // skipping each payload checks it is there
            }
        }
        for (IpcShmEntry s : segments) {
            if (s.getInPagemaps() && !store.exists(ImageKind.PAGEMAP_SHMEM.fileName(Integer.toUnsignedLong(s.getDesc().getId())))) {
                throw new RestoreError(ImageKind.PAGEMAP_SHMEM.fileName(Integer.toUnsignedLong(s.getDesc().getId()))
                        + " is missing (" + ImageKind.IPCNS_SHM.fileName(id) + " says segment " + s.getDesc().getId() + " is there)");
            }
            if (s.getHugetlbFlag() != 0) {
                throw new RestoreError(ImageKind.IPCNS_SHM.fileName(id) + ": segment " + s.getDesc().getId()
                        + " is in huge pages (hugetlb_flag), which cryo does not restore");
            }
        }
        if (store.exists(ImageKind.IPCNS_MSG.fileName(id))) {
            try (EntryReader r = store.openReader(ImageKind.IPCNS_MSG, id)) {
                r.readAll();
                if (r.nestedRemaining() > 0) {
                    throw new RestoreError(r.name() + " is truncated: its last queue lacks " + r.nestedRemaining() + " messages");
                }
            }
        }
        if (store.exists(ImageKind.IPCNS_SEM.fileName(id))) {
            try (EntryReader r = store.openReader(ImageKind.IPCNS_SEM, id)) {
                r.readAll(IpcSemEntry.parser());
            }
        }
        IpcNamespaceRestore ns = new IpcNamespaceRestore(store, id, limits, segments);
        for (ProcessImages p : tree.processes()) {
            ns.checkAttachments(p);
        }
        return ns;
    }

    /** Each SysV mapping of {@code p} lies within a segment of the namespace. */
    private void checkAttachments(ProcessImages p) {
        Map<Long, Long> sizes = new HashMap<>();
        segments.forEach(s -> sizes.put(Integer.toUnsignedLong(s.getDesc().getId()), s.getSize()));
        for (VmaEntry v : p.mm().getVmasList()) {
            if ((v.getStatus() & VmaStatus.VMA_AREA_SYSVIPC) == 0) {
                continue;
            }
            Long size = sizes.get(v.getShmid());
            if (size == null || v.getPgoff() + (v.getEnd() - v.getStart()) > (size + Page.SIZE - 1) / Page.SIZE * Page.SIZE) {
                throw new RestoreError(ImageKind.MM.fileName(p.pid()) + ": mapping 0x" + Long.toHexString(v.getStart())
                        + " attaches SysV segment " + v.getShmid() + (size == null ? ", which " + ImageKind.IPCNS_SHM.fileName(id)
                        + " does not hold" : " beyond its " + size + " bytes"));
            }
        }
    }

    /** Whether the tree gets an IPC namespace of its own. */
    boolean own() {
        return id >= 0;
    }

    /** The flags the root is cloned with: CLONE_NEWIPC for a namespace of its own, else none. */
    long cloneFlags() {
        return own() ? Kernel.CLONE_NEWIPC : 0;
    }

    /** Fills the new namespace of the root task (host pid {@code rootPid}) with the dumped objects. */
    void fill(int rootPid) {
        inTreesNamespace(rootPid, () -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(CHUNK, Page.SIZE);
                setLimits();
                segments(buf);
                queues(buf);
                semaphores(buf);
                return null;
            }
        });
    }

    /**
     * Runs {@code work} in the new namespace of the root (host pid {@code rootPid}); never in cryo's own, whose
     * objects and limits belong to the whole system.
     */
    private static void inTreesNamespace(int rootPid, java.util.function.Supplier<Object> work) {
        String ns = "/proc/" + rootPid + "/ns/ipc";
        if (dev.cryo.syscalls.Io.readlink(ns).equals(dev.cryo.syscalls.Io.readlink("/proc/self/ns/ipc"))) {
            throw new RestoreError("pid " + rootPid + " shares cryo's IPC namespace, not one of its own: its objects are not made there");
        }
        SysvIpc.inNamespace(ns, work);
    }

    /**
     * The limits, but those that would get in the way while the objects are made: a segment made by cryo's
     * thread, not attached yet when it ends, would go with shm_rmid_forced; msgmax and msgmnb are set per queue.
     */
    private void setLimits() {
        StringBuilder sem = new StringBuilder();
        limits.getSemCtlsList().forEach(v -> sem.append(sem.isEmpty() ? "" : " ").append(Integer.toUnsignedLong(v)));
        if (!sem.isEmpty()) {
            SysvIpc.setSysctl("kernel/sem", sem.toString());
        }
        for (String[] l : LIMITS) {
            var field = IpcVarEntry.getDescriptor().findFieldByName(l[0]);
            if (limits.hasField(field)) {
                Object v = limits.getField(field);
                SysvIpc.setSysctl(l[1], v instanceof Integer i ? Integer.toUnsignedString(i) : Long.toUnsignedString((Long) v));
            }
        }
        SysvIpc.setSysctl("kernel/msgmax", ANY_MESSAGE);
    }

    private static void nextId(String kind, IpcDescEntry desc) {
        SysvIpc.setSysctl("kernel/" + kind + "_next_id", Integer.toString(desc.getId()));
    }

    private static void sameId(String what, int got, IpcDescEntry desc) {
        if (got != desc.getId()) {
            throw new RestoreError(what + " got id " + got + " instead of " + desc.getId() + " (kernel/*_next_id not honoured)");
        }
    }

    /** Each segment with its id, key, owner and mode, and its contents: only the pages that are not zero are written. */
    private void segments(MemorySegment buf) {
        if (!store.exists(ImageKind.IPCNS_SHM.fileName(id))) {
            return; // CRIU writes no image that would be empty
        }
        try (EntryReader r = store.openReader(ImageKind.IPCNS_SHM, id)) {
            for (IpcShmEntry s; (s = r.next(IpcShmEntry.parser())) != null; ) {
                IpcDescEntry d = s.getDesc();
                nextId("shm", d);
                int shmid = SysvIpc.shmget(d.getKey(), s.getSize(), (d.getMode() & 0777) | Kernel.IPC_CREAT | Kernel.IPC_EXCL);
                sameId("SysV segment", shmid, d);
                SysvIpc.setSegmentOwner(shmid, d.getUid(), d.getGid(), d.getMode());
                try (SysvIpc.Attachment at = SysvIpc.attach(shmid, s.getSize(), 0)) {
                    if (s.getInPagemaps()) {
                        fromPagemap(shmid, at.memory());
                    } else {
                        for (long off = 0; off < s.getSize(); ) {
                            MemorySegment chunk = buf.asSlice(0, Math.min(buf.byteSize(), s.getSize() - off));
                            r.readPayload(chunk);
                            copyNonZero(chunk, at.memory(), off);
                            off += chunk.byteSize();
                        }
                    }
                }
            }
        }
    }

    /** CRIU 4's form: the contents in pagemap-shmem-ID.img, at their offsets in the segment. */
    private void fromPagemap(int shmid, MemorySegment memory) {
        try (PageSource src = PageSource.open(store, PagemapType.SHARED, Integer.toUnsignedLong(shmid))) {
            for (PageSource.Extent x : src.extents()) {
                if (x.vaddr() < 0 || x.vaddr() + x.bytes() > memory.byteSize()) {
                    throw new RestoreError(ImageKind.PAGEMAP_SHMEM.fileName(shmid) + ": pages at 0x" + Long.toHexString(x.vaddr())
                            + " lie beyond the segment's " + memory.byteSize() + " bytes");
                }
                copyNonZero(src.bytes(x), memory, x.vaddr());
            }
        }
    }

    /** Copies the pages of {@code data} that hold anything to {@code memory} at {@code offset}: holes stay holes. */
    private static void copyNonZero(MemorySegment data, MemorySegment memory, long offset) {
        for (long at = 0; at < data.byteSize(); at += Page.SIZE) {
            MemorySegment page = data.asSlice(at, Math.min(Page.SIZE, data.byteSize() - at));
            if (!isZero(page)) {
                MemorySegment.copy(page, 0, memory, offset + at, page.byteSize());
            }
        }
    }

    private static boolean isZero(MemorySegment page) {
        long n = page.byteSize();
        long i = 0;
        for (; i + Long.BYTES <= n; i += Long.BYTES) {
            if (page.get(ValueLayout.JAVA_LONG_UNALIGNED, i) != 0) {
                return false;
            }
        }
        for (; i < n; i++) {
            if (page.get(ValueLayout.JAVA_BYTE, i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Each queue with its id, key, owner and mode, its byte limit (kernel/msgmnb set to it first: a queue takes
     * its limit from there, and raising it by IPC_SET would need CAP_SYS_RESOURCE), and its messages in order.
     */
    private void queues(MemorySegment buf) {
        if (!store.exists(ImageKind.IPCNS_MSG.fileName(id))) {
            return; // CRIU writes no image that would be empty
        }
        try (EntryReader r = store.openReader(ImageKind.IPCNS_MSG, id)) {
            for (IpcMsgEntry q; (q = r.next(IpcMsgEntry.parser())) != null; ) {
                IpcDescEntry d = q.getDesc();
                nextId("msg", d);
                SysvIpc.setSysctl("kernel/msgmnb", Integer.toUnsignedString(q.getQbytes()));
                int msqid = SysvIpc.msgget(d.getKey(), (d.getMode() & 0777) | Kernel.IPC_CREAT | Kernel.IPC_EXCL);
                sameId("SysV message queue", msqid, d);
                SysvIpc.setQueueOwner(msqid, d.getUid(), d.getGid(), d.getMode());
                for (long i = 0; i < Integer.toUnsignedLong(q.getQnum()); i++) {
                    IpcMsg m = r.next(IpcMsg.parser());
                    if (m == null) {
                        throw new RestoreError(r.name() + " ends inside queue " + d.getId() + " (" + i + " of its " + q.getQnum() + " messages)");
                    }
                    long size = Integer.toUnsignedLong(m.getMsize());
                    if (Long.BYTES + size > buf.byteSize()) {
                        throw new RestoreError(r.name() + ": message " + i + " of queue " + d.getId() + " is " + size
                                + " bytes long, more than cryo's " + (buf.byteSize() - Long.BYTES) + "-byte buffer");
                    }
                    buf.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, m.getMtype());
                    r.readPayload(buf.asSlice(Long.BYTES, size));
                    SysvIpc.sendMessage(msqid, buf, size);
                }
            }
        }
    }

    /** Each semaphore set with its id, key, owner and mode, and its values (SETALL). */
    private void semaphores(MemorySegment buf) {
        if (!store.exists(ImageKind.IPCNS_SEM.fileName(id))) {
            return; // CRIU writes no image that would be empty
        }
        try (EntryReader r = store.openReader(ImageKind.IPCNS_SEM, id)) {
            for (IpcSemEntry s; (s = r.next(IpcSemEntry.parser())) != null; ) {
                IpcDescEntry d = s.getDesc();
                nextId("sem", d);
                int semid = SysvIpc.semget(d.getKey(), s.getNsems(), (d.getMode() & 0777) | Kernel.IPC_CREAT | Kernel.IPC_EXCL);
                sameId("SysV semaphore set", semid, d);
                SysvIpc.setSemaphoreOwner(semid, d.getUid(), d.getGid(), d.getMode());
                MemorySegment values = buf.asSlice(0, 2L * s.getNsems());
                r.readPayload(values);
                SysvIpc.setSemaphoreValues(semid, values);
            }
        }
    }

    /**
     * Once every task has attached its segments: those marked for removal at dump are again (they go with their
     * last detach), the locked ones locked; then the limits that making the objects needed otherwise, the next
     * ids as they were, and shm_rmid_forced.
     */
    void finish(int rootPid) {
        if (!own()) {
            return;
        }
        inTreesNamespace(rootPid, () -> {
            for (IpcShmEntry s : segments) {
                if ((s.getDesc().getMode() & Kernel.SHM_LOCKED) != 0) {
                    SysvIpc.lockSegment(s.getDesc().getId());
                }
            }
            for (IpcShmEntry s : segments) {
                if ((s.getDesc().getMode() & Kernel.SHM_DEST) != 0) {
                    SysvIpc.removeSegment(s.getDesc().getId());
                }
            }
            SysvIpc.setSysctl("kernel/msgmax", Integer.toUnsignedString(limits.getMsgCtlmax()));
            SysvIpc.setSysctl("kernel/msgmnb", Integer.toUnsignedString(limits.getMsgCtlmnb()));
            List<String[]> next = new ArrayList<>();
            if (limits.hasMsgNextId()) {
                next.add(new String[] {"kernel/msg_next_id", Integer.toString(limits.getMsgNextId())});
            }
            if (limits.hasSemNextId()) {
                next.add(new String[] {"kernel/sem_next_id", Integer.toString(limits.getSemNextId())});
            }
            if (limits.hasShmNextId()) {
                next.add(new String[] {"kernel/shm_next_id", Integer.toString(limits.getShmNextId())});
            }
            next.forEach(n -> SysvIpc.setSysctl(n[0], n[1]));
            SysvIpc.setSysctl("kernel/shm_rmid_forced", Integer.toUnsignedString(limits.getShmRmidForced()));
            return null;
        });
    }
}
