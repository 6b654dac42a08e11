package dev.cryo.dump.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FownEntry;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.RegFileEntry;

/**
 * The files of a dump (files.img): every opened file, mapped file, cwd, root and exe gets an id here,
 * and pipe contents wait here to be written to pipes-data.img.
 */
final class FileTable {
    private final List<FileEntry> entries = new ArrayList<>();
    private final Map<String, Integer> pathsById = new LinkedHashMap<>();
    private final List<PipeData> pipeData = new ArrayList<>();
    private int nextId = 1;

    /** The bytes a pipe held at dump time, to be written after its pipe_data_entry. */
    record PipeData(long pipeId, int capacity, MemorySegment bytes) {}

    static final FownEntry NO_OWNER = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();

    int nextId() {
        return nextId++;
    }

    void add(FileEntry e) {
        entries.add(e);
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
        entries.add(FileEntry.newBuilder().setType(FdTypes.REG).setId(fresh)
                .setReg(RegFileEntry.newBuilder().setId(fresh).setFlags(flags).setPos(0).setFown(NO_OWNER).setName(path))
                .build());
        return fresh;
    }

    void addPipeData(PipeData d) {
        if (pipeData.stream().noneMatch(p -> p.pipeId() == d.pipeId())) {
            pipeData.add(d);
        }
    }

    boolean hasPipeData(long pipeId) {
        return pipeData.stream().anyMatch(p -> p.pipeId() == pipeId);
    }

    List<FileEntry> entries() {
        return entries;
    }

    List<PipeData> pipeData() {
        return pipeData;
    }
}
