package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.f_owner_ex;

/**
 * Who receives the SIGIO of an open file description (F_SETOWN_EX), with which signal (F_SETSIG, 0: SIGIO),
 * and the uid and euid it was set with (F_GETOWNER_UIDS): state of the description, read through any fd of it.
 *
 * @param type F_OWNER_TID, F_OWNER_PID or F_OWNER_PGRP
 * @param pid  the owner, as cryo's pid namespace numbers it; 0 when nobody owns the file
 */
public record FileOwner(int type, int pid, int signal, int uid, int euid) {
    /** The {@code struct f_owner_ex} of F_SETOWN_EX: owner {@code pid} of kind {@code type}. */
    public static MemorySegment ownerEx(SegmentAllocator allocator, int type, int pid) {
        MemorySegment owner = f_owner_ex.allocate(allocator);
        f_owner_ex.type(owner, type);
        f_owner_ex.pid(owner, pid);
        return owner;
    }

    public static FileOwner of(Fd fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment owner = f_owner_ex.allocate(a);
            Syscall.call("fcntl(F_GETOWN_EX)", Linux.__NR_fcntl(), fd.fd(), Linux.F_GETOWN_EX(), owner.address());
            int signal = (int) Syscall.call("fcntl(F_GETSIG)", Linux.__NR_fcntl(), fd.fd(), Linux.F_GETSIG(), 0);
            MemorySegment uids = a.allocate(ValueLayout.JAVA_INT, 2);
            Syscall.call("fcntl(F_GETOWNER_UIDS)", Linux.__NR_fcntl(), fd.fd(), Linux.F_GETOWNER_UIDS(), uids.address());
            return new FileOwner(f_owner_ex.type(owner), f_owner_ex.pid(owner), signal,
                    uids.getAtIndex(ValueLayout.JAVA_INT, 0), uids.getAtIndex(ValueLayout.JAVA_INT, 1));
        }
    }
}
