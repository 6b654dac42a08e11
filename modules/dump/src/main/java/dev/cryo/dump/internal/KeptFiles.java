package dev.cryo.dump.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

import dev.cryo.images.proto.GhostFileEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * Files that a dumped process maps and that others delete while it is away: a HotSpot JVM's hsperfdata file
 * ({@code /tmp/hsperfdata_USER/PID}), which every JVM started meanwhile (as that user, or as root) removes since
 * no process of that pid runs. Their contents, owner and mode go into the images as a ghost-file image of the
 * mapping's file id, so that a restore re-creates a file gone missing, where it was, instead of failing. A file
 * still there at restore is used as it is.
 */
final class KeptFiles {
    private static final Pattern PERF_DATA = Pattern.compile("/tmp/hsperfdata_[^/]+/([0-9]+)");
    /** A JVM's perf data is 32 KiB by default (-XX:PerfDataMemorySize); a larger file is left to the file system. */
    private static final long MAX = 16L << 20;

    private KeptFiles() {}

    /** Whether the mapping of {@code path} by process {@code pid} is one to keep. */
    static boolean wanted(int pid, String path) {
        var m = PERF_DATA.matcher(path);
        return m.matches() && m.group(1).equals(Integer.toString(pid));
    }

    /**
     * Keeps the file mapped as {@code id}: into {@code files}, written with the other ghost-file images. A file
     * that cannot be read (gone already, too large) is not kept: the restore then needs it where it is, as
     * without this.
     */
    static void keep(FileTable files, Arena arena, int id, String path) {
        if (files.hasGhost(id)) {
            return;
        }
        try {
            Map<String, Object> attrs = Files.readAttributes(Path.of(path), "unix:mode,uid,gid,size");
            long size = (long) attrs.get("size");
            if (size > MAX) {
                return;
            }
            MemorySegment data = arena.allocate(Math.max(size, 1)).asSlice(0, size);
            try (Fd in = Io.open(path, Kernel.O_RDONLY)) {
                for (long got = 0; got < size; ) {
                    long n = Io.pread(in.fd(), data.asSlice(got), got);
                    if (n == 0) {
                        return; // shrank while read: not kept
                    }
                    got += n;
                }
            }
            files.addGhost(new FileTable.Ghost(id, GhostFileEntry.newBuilder().setUid((int) attrs.get("uid"))
                    .setGid((int) attrs.get("gid")).setMode((int) attrs.get("mode")).setSize(size).build(), data));
        } catch (IOException | ErrnoException e) {
            // not kept; the restore finds the file where it is, or says it is missing
        }
    }
}
