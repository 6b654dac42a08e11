package dev.cryo.pagexfer.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.pagexfer.PagemapType;

/**
 * One command of CRIU's page-server protocol, {@code struct page_server_iov}: {@code u32 cmd} (4 bytes of
 * padding follow), {@code u64 nr_pages}, {@code u64 vaddr}, {@code u64 dst_id}, 32 bytes in host byte order.
 * The low 16 bits of {@code cmd} are the command, the bits above it the pagemap flags of an ADD_F;
 * {@code dst_id} is {@code (id << 8) | type}, type 1 a process's pagemap, 2 shared memory.
 */
public record Command(int code, int flags, long nrPages, long vaddr, long dstId) {
    public static final int SIZE = 32;

    public static final int ADD = 1;
    public static final int HOLE = 2;
    public static final int OPEN = 3;
    public static final int OPEN2 = 4;
    public static final int PARENT = 5;
    public static final int ADD_F = 6;
    public static final int GET = 7;
    public static final int CLOSE = 0x1023;
    public static final int FORCE_CLOSE = 0x1024;

    private static final int CMD_BITS = 16;
    private static final int TYPE_BITS = 8;
    // x86-64 is little-endian, and so is the protocol between two of its hosts ("host order").
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    public static long dstId(PagemapType type, long id) {
        return (id << TYPE_BITS) | type.wireType();
    }

    public static Command open2(PagemapType type, long id) {
        return new Command(OPEN2, 0, 0, 0, dstId(type, id));
    }

    public static Command parent(PagemapType type, long id) {
        return new Command(PARENT, 0, 0, 0, dstId(type, id));
    }

    public static Command add(long dstId, long vaddr, long pages, int flags) {
        return new Command(ADD_F, flags, pages, vaddr, dstId);
    }

    public static Command close() {
        return new Command(CLOSE, 0, 0, 0, 0);
    }

    /** The id part of {@code dst_id}: a pid or a shmid. */
    public long id() {
        return dstId >>> TYPE_BITS;
    }

    /**
     * The pagemap type of {@code dst_id}, or null for a number no CRIU ever sent. Besides 1 and 2, CRIU before
     * 3.3 sent its image-kind numbers (10, 11, 16, 17 for a pagemap; 27-29, 32-34 for shared memory): accepted
     * as CRIU accepts them.
     */
    public PagemapType type() {
        return switch ((int) (dstId & ((1 << TYPE_BITS) - 1))) {
            case 1, 10, 11, 16, 17 -> PagemapType.PROCESS;
            case 2, 27, 28, 29, 32, 33, 34 -> PagemapType.SHARED;
            default -> null;
        };
    }

    public void writeTo(MemorySegment seg) {
        seg.set(U32, 0, (flags << CMD_BITS) | code);
        seg.set(U32, 4, 0);
        seg.set(U64, 8, nrPages);
        seg.set(U64, 16, vaddr);
        seg.set(U64, 24, dstId);
    }

    public static Command readFrom(MemorySegment seg) {
        int cmd = seg.get(U32, 0);
        return new Command(cmd & 0xffff, cmd >>> CMD_BITS, seg.get(U64, 8), seg.get(U64, 16), seg.get(U64, 24));
    }

    /** The command's name as CRIU's sources spell it, for messages. */
    public static String name(int code) {
        return switch (code) {
            case ADD -> "ADD";
            case HOLE -> "HOLE";
            case OPEN -> "OPEN";
            case OPEN2 -> "OPEN2";
            case PARENT -> "PARENT";
            case ADD_F -> "ADD_F";
            case GET -> "GET";
            case CLOSE -> "CLOSE";
            case FORCE_CLOSE -> "FORCE_CLOSE";
            default -> "0x" + Integer.toHexString(code);
        };
    }
}
