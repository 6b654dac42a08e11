package dev.cryo.dump.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.EntryWriter;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FownEntry;
import dev.cryo.images.proto.GhostFileEntry;
import dev.cryo.images.proto.MemfdFileEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.RegFileEntry;
import dev.cryo.images.proto.ScmEntry;
import dev.cryo.images.proto.SkPacketEntry;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.images.proto.TcpStreamEntry;
import dev.cryo.syscalls.Kcmp;
import dev.cryo.syscalls.Page;

/**
 * The files of a dump (files.img): every opened file, mapped file, cwd, root and exe gets an id here;
 * fds that share one open file description (kcmp) share one id. Pipe and FIFO contents, socket queues
 * and unlinked files' contents wait here to be written to their images.
 */
final class FileTable {
    private final List<FileEntry> entries = new ArrayList<>();
    private final Map<Integer, FileEntry> byId = new java.util.HashMap<>();
    private final Map<String, Integer> pathsById = new LinkedHashMap<>();
    private final List<PipeData> pipeData = new ArrayList<>();
    private final List<PipeData> fifoData = new ArrayList<>();
    private final List<Packet> packets = new ArrayList<>();
    private final List<Ghost> ghosts = new ArrayList<>();
    /** fds dumped so far, by what /proc shows of them: candidates for one open file description */
    private final Map<String, List<Seen>> seen = new LinkedHashMap<>();
    private int nextId = 1;
    private final FileLocks locks;

    FileTable(boolean fileLocks) {
        this.locks = new FileLocks(fileLocks);
    }

    private java.util.Set<Integer> ptyMasters = java.util.Set.of();
    private final Map<Integer, dev.cryo.images.proto.TtyInfoEntry> ttyInfos = new LinkedHashMap<>();

    /** The indices of the ptys whose master the tree holds: their slaves are dumped as ptys, not by path. */
    java.util.Set<Integer> ptyMasters() {
        return ptyMasters;
    }

    void ptyMasters(java.util.Set<Integer> indices) {
        ptyMasters = java.util.Set.copyOf(indices);
    }

    /** The tty-info.img id of one end of pty {@code index}: two per pty, as CRIU numbers them. */
    int ttyInfoId(int index, boolean master) {
        return (index << 1) | (master ? 1 : 0);
    }

    boolean hasTtyInfo(int id) {
        return ttyInfos.containsKey(id);
    }

    void addTtyInfo(dev.cryo.images.proto.TtyInfoEntry info) {
        ttyInfos.put(info.getId(), info);
    }

    /** The locks the tree holds (--file-locks), or the refusal of them. */
    FileLocks locks() {
        return locks;
    }

    /** The bytes a pipe held at dump time, to be written after its pipe_data_entry. */
    record PipeData(long pipeId, int capacity, MemorySegment bytes) {}

    /** Bytes waiting in the receive queue of the socket with file id {@code id}: one datagram, or stream bytes. */
    record Packet(int id, MemorySegment bytes, List<ScmEntry> scm) {}

    /** One established TCP connection, for tcp-stream-INO.img: the entry, then its two queues. */
    record TcpStreamImage(long ino, TcpStreamEntry entry, MemorySegment inq, MemorySegment outq) {}

    private final List<TcpStreamImage> tcpStreams = new ArrayList<>();

    void addTcpStream(TcpStreamImage t) {
        tcpStreams.add(t);
    }

    /** An unlinked file's attributes and contents, for ghost-file-ID.img. */
    record Ghost(int id, GhostFileEntry entry, MemorySegment contents) {}

    /** A memfd's inode: its memfd.img entry and its contents, whole pages. */
    record Memfd(MemfdInodeEntry entry, MemorySegment contents) {}

    private final Map<Long, Memfd> memfds = new LinkedHashMap<>();

    Integer memfdInode(long ino) {
        Memfd m = memfds.get(ino);
        return m == null ? null : (int) m.entry().getInodeId();
    }

    void addMemfd(long ino, Memfd m) {
        memfds.put(ino, m);
    }

    /**
     * The memfd file entry that mappings of memfd inode {@code inodeId} opened {@code flags} name (their
     * vma_entry.shmid): like {@link #pathId}, one entry per inode and open mode, at offset 0.
     */
    int memfdMappingId(int inodeId, int flags) {
        String key = flags + ":memfd inode " + inodeId;
        Integer id = pathsById.get(key);
        if (id != null) {
            return id;
        }
        int fresh = nextId();
        pathsById.put(key, fresh);
        add(FileEntry.newBuilder().setType(FdTypes.MEMFD).setId(fresh)
                .setMemfd(MemfdFileEntry.newBuilder().setId(fresh).setFlags(flags).setPos(0).setFown(NO_OWNER).setInodeId(inodeId))
                .build());
        return fresh;
    }

    private record Seen(int pid, int fd, int id) {}

    static final FownEntry NO_OWNER = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();

    int nextId() {
        return nextId++;
    }

    void add(FileEntry e) {
        entries.add(e);
        byId.put(e.getId(), e);
    }

    /** The entry of file {@code id}, dumped already. */
    FileEntry entry(int id) {
        FileEntry e = byId.get(id);
        if (e == null) {
            throw new IllegalStateException("file " + id + " has no entry yet");
        }
        return e;
    }

    /**
     * The id of the open file description that fd {@code fd} of {@code pid} shares with an fd dumped
     * before (kcmp KCMP_FILE), or null. Only fds that look alike in /proc ({@code key}) are compared.
     */
    Integer sharedId(int pid, int fd, String key) {
        for (Seen s : seen.getOrDefault(key, List.of())) {
            if (Kcmp.sameFile(s.pid, s.fd, pid, fd)) {
                return s.id;
            }
        }
        return null;
    }

    void seen(int pid, int fd, String key, int id) {
        seen.computeIfAbsent(key, k -> new ArrayList<>()).add(new Seen(pid, fd, id));
    }

    /** A file known only by path (a mapped file, a cwd, the exe): one entry per path and open mode. */
    int pathId(String path, int flags) {
        String key = flags + ":" + path;
        Integer id = pathsById.get(key);
        if (id != null) {
            return id;
        }
        int fresh = nextId();
        pathsById.put(key, fresh);
        add(FileEntry.newBuilder().setType(FdTypes.REG).setId(fresh)
                .setReg(RegFileEntry.newBuilder().setId(fresh).setFlags(flags).setPos(0).setFown(NO_OWNER).setName(path))
                .build());
        return fresh;
    }

    void addPipeData(PipeData d) {
        if (!hasPipeData(d.pipeId())) {
            pipeData.add(d);
        }
    }

    boolean hasPipeData(long pipeId) {
        return pipeData.stream().anyMatch(p -> p.pipeId() == pipeId);
    }

    void addFifoData(PipeData d) {
        if (!hasFifoData(d.pipeId())) {
            fifoData.add(d);
        }
    }

    boolean hasFifoData(long pipeId) {
        return fifoData.stream().anyMatch(p -> p.pipeId() == pipeId);
    }

    void addSocketPacket(Packet p) {
        packets.add(p);
    }

    void addGhost(Ghost g) {
        ghosts.add(g);
    }

    boolean hasGhost(int id) {
        return ghosts.stream().anyMatch(g -> g.id() == id);
    }

    List<FileEntry> entries() {
        return entries;
    }

    List<PipeData> pipeData() {
        return pipeData;
    }

    /** fifo-data.img, sk-queues.img, memfd.img and ghost-file-ID.img beside files.img and pipes-data.img; memfd contents to {@code pages}. */
    void writeDataImages(ImageStore store, PageDestination pages) {
        try (EntryWriter w = store.openWriter(ImageKind.FIFO_DATA)) {
            for (PipeData d : fifoData) {
                w.write(PipeDataEntry.newBuilder().setPipeId((int) d.pipeId()).setBytes((int) d.bytes().byteSize())
                        .setSize(d.capacity()).build());
                if (d.bytes().byteSize() > 0) {
                    w.writePayload(d.bytes());
                }
            }
            w.commit();
        }
        try (EntryWriter w = store.openWriter(ImageKind.SK_QUEUES)) {
            for (Packet p : packets) {
                w.write(SkPacketEntry.newBuilder().setIdFor(p.id()).setLength((int) p.bytes().byteSize()).addAllScm(p.scm()).build());
                w.writePayload(p.bytes());
            }
            w.commit();
        }
        if (!memfds.isEmpty()) {
            try (EntryWriter w = store.openWriter(ImageKind.MEMFD_INODE)) {
                for (Memfd m : memfds.values()) {
                    w.write(m.entry());
                }
                w.commit();
            }
        }
        // A memfd's contents go with every other page, through the dump's page destination.
        for (Memfd m : memfds.values()) {
            long shmid = Integer.toUnsignedLong(m.entry().getShmid());
            long n = m.contents().byteSize() / Page.SIZE;
            try (PageSink sink = pages.open(PagemapType.SHARED, shmid)) {
                if (n > 0) {
                    sink.begin(List.of(new PageSink.Run(0, n)));
                    sink.write(m.contents());
                }
                sink.commit();
            }
        }
        for (TcpStreamImage t : tcpStreams) {
            try (EntryWriter w = store.openWriter(ImageKind.TCP_STREAM, t.ino())) {
                w.write(t.entry());
                for (MemorySegment queue : List.of(t.inq(), t.outq())) {
                    if (queue.byteSize() > 0) {
                        w.writePayload(queue);
                    }
                }
                w.commit();
            }
        }
        if (!ttyInfos.isEmpty()) {
            try (EntryWriter w = store.openWriter(ImageKind.TTY_INFO)) {
                for (dev.cryo.images.proto.TtyInfoEntry t : ttyInfos.values()) {
                    w.write(t);
                }
                w.commit();
            }
        }
        List<dev.cryo.images.proto.FileLockEntry> held = locks.entries();
        if (!held.isEmpty()) {
            try (EntryWriter w = store.openWriter(ImageKind.FILE_LOCKS)) {
                for (dev.cryo.images.proto.FileLockEntry l : held) {
                    w.write(l);
                }
                w.commit();
            }
        }
        for (Ghost g : ghosts) {
            try (EntryWriter w = store.openWriter(ImageKind.GHOST_FILE, g.id())) {
                w.write(g.entry());
                if (g.contents().byteSize() > 0) {
                    w.writePayload(g.contents());
                }
                w.commit();
            }
        }
    }
}
