package dev.cryo.dump.internal;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagepipe.BufferPool;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;

/**
 * The contents of shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, a shmem object with no name), once per
 * object however many tasks map it: {@code pagemap-shmem-SHMID.img} lists its data as runs of pages at their
 * offsets in the object, {@code pages-N.img} holds them; both through the dump's {@link PageDestination}, as
 * every page. The object is read whole through
 * {@code /proc/PID/map_files}, holes skipped with SEEK_DATA/SEEK_HOLE, so pages that only another task has
 * touched are there too.
 */
final class SharedMemoryDump {
    private SharedMemoryDump() {}

    /** One mapping per shared object: the first task (in tree order) that maps it, and where. */
    static Map<Long, Map.Entry<Integer, VmaEntry>> objects(Map<Integer, MmEntry> mms) {
        Map<Long, Map.Entry<Integer, VmaEntry>> out = new LinkedHashMap<>();
        mms.forEach((pid, mm) -> {
            for (VmaEntry v : mm.getVmasList()) {
                // a SysV segment's contents go with its IPC namespace (IpcNamespaceDump), not here
                if ((v.getStatus() & VmaStatus.VMA_ANON_SHARED) != 0 && (v.getStatus() & VmaStatus.VMA_AREA_SYSVIPC) == 0) {
                    out.putIfAbsent(v.getShmid(), Map.entry(pid, v));
                }
            }
        });
        return out;
    }

    /** Writes one object's images; returns the pages written. */
    static long write(PageDestination dest, int pid, VmaEntry v, BufferPool pool) throws Exception {
        Path file = Path.of("/proc/" + pid + "/map_files/" + Long.toHexString(v.getStart()) + "-" + Long.toHexString(v.getEnd()));
        long size = Files.size(file);
        long pages = 0;
        try (Fd fd = Io.open(file.toString(), Kernel.O_RDONLY);
             PageSink out = dest.open(PagemapType.SHARED, v.getShmid())) {
            MemorySegment buf = pool.take();
            try {
                long at = 0;
                while (at < size) {
                    long data = seek(fd, at, Kernel.SEEK_DATA);
                    if (data < 0 || data >= size) {
                        break;
                    }
                    long hole = Math.min(size, seek(fd, data, Kernel.SEEK_HOLE));
                    long run = Page.count(hole - data);
                    out.begin(List.of(new PageSink.Run(data, run)));
                    for (long off = data; off < data + run * Page.SIZE; ) {
                        long n = Math.min(buf.byteSize(), data + run * Page.SIZE - off);
                        MemorySegment chunk = buf.asSlice(0, n);
                        chunk.fill((byte) 0); // the object's last page may end inside it
                        long got = 0;
                        while (got < n) {
                            long r = Io.pread(fd.fd(), chunk.asSlice(got), off + got);
                            if (r <= 0) {
                                break;
                            }
                            got += r;
                        }
                        out.write(chunk);
                        off += n;
                    }
                    pages += run;
                    at = data + run * Page.SIZE;
                }
            } finally {
                pool.give(buf);
            }
            out.commit();
        }
        return pages;
    }

    /** lseek with SEEK_DATA/SEEK_HOLE; -1 when no data follows (ENXIO). */
    private static long seek(Fd fd, long from, int whence) {
        try {
            return Io.lseek(fd.fd(), from, whence);
        } catch (ErrnoException e) {
            if (e.errno() == Kernel.ENXIO) { // nothing but a hole up to the end
                return -1;
            }
            throw e;
        }
    }
}
