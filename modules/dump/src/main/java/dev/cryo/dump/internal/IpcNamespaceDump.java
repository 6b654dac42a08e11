package dev.cryo.dump.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.cryo.dump.DumpException;
import dev.cryo.images.EntryWriter;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.IpcDescEntry;
import dev.cryo.images.proto.IpcMsg;
import dev.cryo.images.proto.IpcMsgEntry;
import dev.cryo.images.proto.IpcSemEntry;
import dev.cryo.images.proto.IpcShmEntry;
import dev.cryo.images.proto.IpcVarEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagepipe.BufferPool;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.SysvIpc;

/**
 * The IPC namespace of the tree, as CRIU takes it: when the root lives in one of its own (not cryo's), its SysV
 * objects and limits go into {@code ipcns-var-ID.img}, {@code ipcns-shm-ID.img}, {@code ipcns-msg-ID.img} and
 * {@code ipcns-sem-ID.img} (ID: the namespace's nsfs inode, which the cores' ipc_ns_id name), read from a thread
 * of cryo's that enters the namespace while the tree is frozen. Every process of the tree must share the root's
 * namespace (CRIU: "Can't dump nested ipc namespace"). In cryo's own namespace nothing is dumped, and a mapping of
 * a SysV segment is refused: restored as plain shared memory it would be cut off from the segment.
 *
 * <p>Segment contents go inline after their entry (in_pagemaps unset), the form that crit decodes; they are read
 * through the segment's file, so pages nobody touched are read as zeros without being allocated. Not kept, as
 * with CRIU: semaphore undo adjustments (SEM_UNDO), the times and last pids of each object, and its creator
 * (cuid, cgid: the restorer creates it).
 */
final class IpcNamespaceDump {
    /** The sysctls of ipc_var_entry: its field, the file under /proc/sys, and whether CRIU requires it. */
    private record Sysctl(String field, String file, boolean required) {}

    private static final List<Sysctl> SYSCTLS = List.of(
            new Sysctl("msg_ctlmax", "kernel/msgmax", true), new Sysctl("msg_ctlmnb", "kernel/msgmnb", true),
            new Sysctl("msg_ctlmni", "kernel/msgmni", true), new Sysctl("auto_msgmni", "kernel/auto_msgmni", true),
            new Sysctl("shm_ctlmax", "kernel/shmmax", true), new Sysctl("shm_ctlall", "kernel/shmall", true),
            new Sysctl("shm_ctlmni", "kernel/shmmni", true), new Sysctl("shm_rmid_forced", "kernel/shm_rmid_forced", true),
            new Sysctl("mq_queues_max", "fs/mqueue/queues_max", true), new Sysctl("mq_msg_max", "fs/mqueue/msg_max", true),
            new Sysctl("mq_msgsize_max", "fs/mqueue/msgsize_max", true),
            new Sysctl("mq_msg_default", "fs/mqueue/msg_default", false),
            new Sysctl("mq_msgsize_default", "fs/mqueue/msgsize_default", false),
            new Sysctl("msg_next_id", "kernel/msg_next_id", false), new Sysctl("sem_next_id", "kernel/sem_next_id", false),
            new Sysctl("shm_next_id", "kernel/shm_next_id", false));

    /** A refusal found inside the namespace's thread: one line, which the dump prefixes with its root. */
    static final class Refusal extends CryoFailure {
        private static final long serialVersionUID = 1L;

        Refusal(String message) {
            super(message);
        }
    }

    private final int root;
    private final long id;
    private final long cryos;

    private IpcNamespaceDump(int root, long id, long cryos) {
        this.root = root;
        this.id = id;
        this.cryos = cryos;
    }

    /** The namespace of the tree of {@code root} ({@code pids}: its live processes), checked to be one for all. */
    static IpcNamespaceDump of(int root, Set<Integer> pids) throws DumpException {
        long rootNs = namespace(root);
        for (int pid : pids) {
            long ns = namespace(pid);
            if (ns != rootNs) {
                throw new DumpException("cannot dump pid " + root + ": pid " + pid + " of its tree is in IPC namespace ipc:[" + ns
                        + "], not in its root's (ipc:[" + rootNs + "]); cryo dumps one IPC namespace per tree, as CRIU does");
            }
        }
        return new IpcNamespaceDump(root, rootNs, namespace("self"));
    }

    private static long namespace(Object pid) {
        String link = Io.readlink("/proc/" + pid + "/ns/ipc"); // "ipc:[4026531839]"
        return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
    }

    /** Whether the tree has an IPC namespace of its own, which the dump holds. */
    boolean own() {
        return id != cryos;
    }

    /** The tree's namespace id, ipc_ns_id in every core (the nsfs inode fits 32 bits). */
    int id() {
        return (int) id;
    }

    /** cryo's own namespace id, ipc_ns_id in inventory.img's root_ids: differing from the cores', it says "restore a new one". */
    int cryosId() {
        return (int) cryos;
    }

    /**
     * Writes the namespace's images (when it is the tree's own), checking first that every SysV mapping of the
     * tree ({@code mms}) attaches a segment of it. Returns a line for the log.
     */
    String write(ImageStore store, Map<Integer, MmEntry> mms, BufferPool pool) throws InterruptedException {
        if (!own()) {
            return "IPC namespace: cryo's own, not dumped";
        }
        MemorySegment buf = pool.take(); // one buffer for every object's contents, taken here (the pool may make us wait)
        try {
            return SysvIpc.inNamespace("/proc/" + root + "/ns/ipc", () -> images(store, mms, buf));
        } finally {
            pool.give(buf);
        }
    }

    private String images(ImageStore store, Map<Integer, MmEntry> mms, MemorySegment buf) {
        List<SysvIpc.Segment> segments = SysvIpc.segments();
        checkAttachments(mms, segments);
        IpcVarEntry var = limits();
        for (SysvIpc.Segment seg : segments) {
            if (var.getShmRmidForced() != 0 && seg.attachments() == 0) {
                // restored, its creator would be cryo's thread, long gone: setting shm_rmid_forced would destroy it
                throw new Refusal("SysV segment " + seg.id() + " is attached by no task while kernel.shm_rmid_forced is 1"
                        + " in the tree's IPC namespace: a restore could not keep it");
            }
        }
        store.writeEntry(ImageKind.IPC_VAR, id, var);
        writeSegments(store, segments, buf);
        long messages = writeQueues(store, SysvIpc.queues(), buf);
        List<SysvIpc.SemaphoreSet> sets = SysvIpc.semaphoreSets();
        writeSemaphores(store, sets, buf);
        return "IPC namespace ipc:[" + id + "]: " + segments.size() + " shared memory segments, " + sets.size()
                + " semaphore sets, " + messages + " queued messages";
    }

    /** Each SysV mapping attaches a segment of the namespace, and lies within it. */
    private static void checkAttachments(Map<Integer, MmEntry> mms, List<SysvIpc.Segment> segments) {
        Map<Integer, SysvIpc.Segment> byId = new HashMap<>();
        segments.forEach(s -> byId.put(s.id(), s));
        mms.forEach((pid, mm) -> {
            for (VmaEntry v : mm.getVmasList()) {
                if ((v.getStatus() & VmaStatus.VMA_AREA_SYSVIPC) == 0) {
                    continue;
                }
                SysvIpc.Segment s = byId.get((int) v.getShmid());
                if (s == null || v.getPgoff() + (v.getEnd() - v.getStart()) > Page.roundUp(s.size())) {
                    throw new Refusal("mapping 0x" + Long.toHexString(v.getStart()) + " of pid " + pid + " attaches SysV segment "
                            + v.getShmid() + ", which is not one of its IPC namespace's (attached before it left another namespace?)");
                }
            }
        });
    }

    /** The namespace's sysctls as ipc_var_entry; a next id of -1 (unset) is left out, as CRIU does. */
    private static IpcVarEntry limits() {
        IpcVarEntry.Builder b = IpcVarEntry.newBuilder();
        for (String v : SysvIpc.sysctl("kernel/sem").split("\\s+")) {
            b.addSemCtls(Integer.parseUnsignedInt(v));
        }
        for (Sysctl s : SYSCTLS) {
            if (!s.required() && !SysvIpc.hasSysctl(s.file())) {
                continue;
            }
            String text = SysvIpc.sysctl(s.file());
            if (text.startsWith("-")) {
                continue; // kernel/*_next_id: -1 until someone sets it
            }
            long value = Long.parseUnsignedLong(text); // kernel/shmmax and shmall are u64: near 2^64 by default
            var field = IpcVarEntry.getDescriptor().findFieldByName(s.field());
            if (field.getJavaType() == com.google.protobuf.Descriptors.FieldDescriptor.JavaType.LONG) {
                b.setField(field, value); // uint64: a Long
            } else {
                b.setField(field, (int) value); // uint32: an Integer
            }
        }
        return b.build();
    }

    private static IpcDescEntry desc(int id, SysvIpc.Perm p) {
        return IpcDescEntry.newBuilder().setKey(p.key()).setUid(p.uid()).setGid(p.gid()).setCuid(p.cuid()).setCgid(p.cgid())
                .setMode(p.mode()).setId(id).build();
    }

    /** Each segment and its contents, read through its file (holes read as zeros, and stay holes in the original). */
    private void writeSegments(ImageStore store, List<SysvIpc.Segment> segments, MemorySegment buf) {
        try (EntryWriter w = store.openWriter(ImageKind.IPCNS_SHM, id)) {
            for (SysvIpc.Segment s : segments) {
                try (SysvIpc.Attachment at = SysvIpc.attach(s.id(), s.size(), Kernel.SHM_RDONLY);
                     Fd file = Io.open(at.file(), Kernel.O_RDONLY)) {
                    if (at.hugePages(file)) {
                        throw new Refusal("SysV segment " + s.id() + " (key 0x" + Integer.toHexString(s.perm().key())
                                + ") is in huge pages (SHM_HUGETLB), which cryo does not dump");
                    }
                    w.write(IpcShmEntry.newBuilder().setDesc(desc(s.id(), s.perm())).setSize(s.size()).build());
                    copy(w, file, s.size(), buf);
                    pad(w, roundUp(s.size(), 4) - s.size());
                }
            }
            w.commit();
        }
    }

    private static void copy(EntryWriter w, Fd file, long size, MemorySegment buf) {
        long at = 0;
        while (at < size) {
            MemorySegment chunk = buf.asSlice(0, Math.min(buf.byteSize(), size - at));
            long got = Io.pread(file.fd(), chunk, at);
            if (got <= 0) {
                throw new Refusal("SysV segment file " + file + " ended at " + at + " of its " + size + " bytes");
            }
            w.writePayload(chunk.asSlice(0, got));
            at += got;
        }
    }

    private static final MemorySegment ZEROS = MemorySegment.ofArray(new byte[8]);

    private static void pad(EntryWriter w, long bytes) {
        if (bytes > 0) {
            w.writePayload(ZEROS.asSlice(0, bytes));
        }
    }

    /** Each queue and its messages, oldest first, copied without being taken (MSG_COPY). Returns the messages. */
    private long writeQueues(ImageStore store, List<SysvIpc.Queue> queues, MemorySegment buf) {
        long count = 0;
        try (EntryWriter w = store.openWriter(ImageKind.IPCNS_MSG, id)) {
            for (SysvIpc.Queue q : queues) {
                w.write(IpcMsgEntry.newBuilder().setDesc(desc(q.id(), q.perm())).setQbytes((int) q.bytesLimit())
                        .setQnum((int) q.messages()).build());
                for (long i = 0; i < q.messages(); i++) {
                    long size;
                    try {
                        size = SysvIpc.copyMessage(q.id(), i, buf);
                    } catch (ErrnoException e) {
                        if (e.is(Errno.E2BIG)) {
                            throw new Refusal("message " + i + " of SysV queue " + q.id() + " is longer than cryo's "
                                    + (buf.byteSize() - Long.BYTES) + "-byte buffer");
                        }
                        throw e;
                    }
                    w.write(IpcMsg.newBuilder().setMtype(buf.get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).setMsize((int) size).build());
                    if (size > 0) {
                        w.writePayload(buf.asSlice(Long.BYTES, size));
                    }
                    pad(w, roundUp(size, 8) - size);
                    count++;
                }
            }
            w.commit();
        }
        return count;
    }

    /** Each semaphore set and its values (GETALL: a u16 each, padded to 8 bytes). */
    private void writeSemaphores(ImageStore store, List<SysvIpc.SemaphoreSet> sets, MemorySegment buf) {
        try (EntryWriter w = store.openWriter(ImageKind.IPCNS_SEM, id)) {
            for (SysvIpc.SemaphoreSet s : sets) {
                long bytes = roundUp(2L * s.nsems(), 8);
                MemorySegment values = buf.asSlice(0, bytes).fill((byte) 0);
                SysvIpc.semaphoreValues(s.id(), values);
                w.write(IpcSemEntry.newBuilder().setDesc(desc(s.id(), s.perm())).setNsems(s.nsems()).build());
                w.writePayload(values);
            }
            w.commit();
        }
    }

    private static long roundUp(long n, long align) {
        return (n + align - 1) / align * align;
    }
}
