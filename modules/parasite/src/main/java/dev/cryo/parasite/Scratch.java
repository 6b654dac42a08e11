package dev.cryo.parasite;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * Memory in a task's parasite area for the pointer arguments of its injected calls: handed out in order,
 * each piece 8-byte aligned and checked against the area's size (as compel's {@code compel_parasite_args}
 * checks), and all of it free again when closed. One at a time per parasite:
 *
 * <pre>{@code
 * try (Scratch s = parasite.scratch()) {
 *     long path = s.putString("/etc/hostname");
 *     long st = s.reserve(stat.sizeof());
 *     parasite.syscall("newfstatat", Linux.__NR_newfstatat(), Linux.AT_FDCWD(), path, st, 0);
 *     s.read(st, local);
 * }
 * }</pre>
 */
public final class Scratch implements AutoCloseable {
    private final Parasite owner;
    private final long base;
    private final long size;
    private long used;
    private boolean open;

    Scratch(Parasite owner, long base, long size) {
        this.owner = owner;
        this.base = base;
        this.size = size;
    }

    Scratch open() {
        if (open) {
            throw new IllegalStateException("the scratch memory of pid " + owner.pid() + " is in use already");
        }
        open = true;
        used = 0;
        return this;
    }

    /** Room for {@code bytes} bytes; returns its address in the task. */
    public long reserve(long bytes) {
        if (!open) {
            throw new IllegalStateException("scratch memory of pid " + owner.pid() + " used after its close");
        }
        long at = (used + 7) & -8L;
        if (bytes < 0 || at + bytes > size) {
            throw new IllegalArgumentException("scratch memory of pid " + owner.pid() + " holds " + size + " bytes; "
                    + bytes + " more do not fit after " + used);
        }
        used = at + bytes;
        return base + at;
    }

    /** Copies {@code data} into the task; returns its address there. */
    public long put(MemorySegment data) {
        long at = reserve(data.byteSize());
        owner.write(at, data);
        return at;
    }

    /** Copies {@code s} in, NUL-terminated, as UTF-8; returns its address in the task. */
    public long putString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment c = a.allocate(b.length + 1L);
            c.copyFrom(MemorySegment.ofArray(b));
            return put(c);
        }
    }

    /** Copies {@code into.byteSize()} bytes at {@code addr} (handed out by this scratch) back from the task. */
    public void read(long addr, MemorySegment into) {
        if (addr < base || addr + into.byteSize() > base + used) {
            throw new IllegalArgumentException(String.format("0x%x+%d is not scratch memory handed out in pid %d",
                    addr, into.byteSize(), owner.pid()));
        }
        owner.read(addr, into);
    }

    /** The bytes the scratch memory can hold in all. */
    public long capacity() {
        return size;
    }

    @Override
    public void close() {
        open = false;
        used = 0;
    }
}
