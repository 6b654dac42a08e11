package dev.cryo.syscalls;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import dev.cryo.bindings.flock;

/**
 * A {@code struct flock} as fcntl's F_SETLK, F_GETLK and their OFD forms take it: the type (F_RDLCK,
 * F_WRLCK, F_UNLCK), where {@code start} counts from (SEEK_SET...), the range, and the owner's pid (what
 * F_GETLK answers; 0 to set, and for an OFD lock).
 */
public record FileLock(short type, short whence, long start, long len, int pid) {
    public static final long SIZE = flock.sizeof();

    public static FileLock read(MemorySegment s) {
        return new FileLock(flock.l_type(s), flock.l_whence(s), flock.l_start(s), flock.l_len(s), flock.l_pid(s));
    }

    public MemorySegment write(SegmentAllocator allocator) {
        MemorySegment s = flock.allocate(allocator);
        s.fill((byte) 0);
        flock.l_type(s, type);
        flock.l_whence(s, whence);
        flock.l_start(s, start);
        flock.l_len(s, len);
        flock.l_pid(s, pid);
        return s;
    }
}
