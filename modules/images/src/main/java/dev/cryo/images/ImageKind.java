package dev.cryo.images;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.CredsEntry;
import dev.cryo.images.proto.EventfdFileEntry;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FifoEntry;
import dev.cryo.images.proto.InetSkEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FileLockEntry;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.GhostChunkEntry;
import dev.cryo.images.proto.GhostFileEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.ItimerEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.PipeEntry;
import dev.cryo.images.proto.PosixTimerEntry;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.proto.RegFileEntry;
import dev.cryo.images.proto.RlimitEntry;
import dev.cryo.images.proto.SaEntry;
import dev.cryo.images.proto.SeccompEntry;
import dev.cryo.images.proto.SkPacketEntry;
import dev.cryo.images.proto.StatsEntry;
import dev.cryo.images.proto.TcpStreamEntry;
import dev.cryo.images.proto.TaskKobjIdsEntry;
import dev.cryo.images.proto.TimensEntry;
import dev.cryo.images.proto.TtyDataEntry;
import dev.cryo.images.proto.TtyFileEntry;
import dev.cryo.images.proto.TtyInfoEntry;
import dev.cryo.images.proto.UnixSkEntry;
import dev.cryo.images.proto.VmaEntry;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Every kind of image cryo reads or writes: its file name, its magic numbers
 * and the protobuf messages it holds. Names and magics are CRIU's, so that
 * CRIU and crit read cryo's images and cryo reads theirs.
 *
 * <p>A name pattern takes the image's id: a PID or TID ({@code core-%d.img}),
 * a file-table or pages id, or a hex file id ({@code ghost-file-%x.img}).
 */
public enum ImageKind {
    INVENTORY("INVENTORY", "inventory.img", Head.NONE, 0x58313116, InventoryEntry.getDefaultInstance()),
    PSTREE("PSTREE", "pstree.img", 0x50273030, PstreeEntry.getDefaultInstance()),
    /** One per thread: registers, and for a leader the task's signals, timers, rlimits. */
    CORE("CORE", "core-%d.img", 0x55053847, CoreEntry.getDefaultInstance()),
    /** Legacy: modern CRIU keeps the kernel object ids in core. */
    IDS("IDS", "ids-%d.img", 0x54432030, TaskKobjIdsEntry.getDefaultInstance()),
    MM("MM", "mm-%d.img", 0x57492820, MmEntry.getDefaultInstance()),
    /** Legacy: modern CRIU keeps the mappings in mm. */
    VMAS("VMAS", "vmas-%d.img", 0x54123737, VmaEntry.getDefaultInstance()),
    /** A pagemap_head naming the pages image, then pagemap_entry runs. Id: the PID. */
    PAGEMAP("PAGEMAP", "pagemap-%d.img", Head.COMMON, 0x56084025,
            PagemapHead.getDefaultInstance(), PagemapEntry.getDefaultInstance(), Payload.NONE),
    /** Pagemap of shared anonymous memory; id: the shmid. */
    PAGEMAP_SHMEM("PAGEMAP", "pagemap-shmem-%d.img", Head.COMMON, 0x56084025,
            PagemapHead.getDefaultInstance(), PagemapEntry.getDefaultInstance(), Payload.NONE),
    /** Raw page data, no magic: the PE_PRESENT runs of a pagemap, back to back. */
    PAGES("PAGES", "pages-%d.img", Head.NONE, 0, null, null, Payload.NONE),
    /** The fds of one file table (id: files_id); each points at a file_entry by id. */
    FDINFO("FDINFO", "fdinfo-%d.img", 0x56213732, FdinfoEntry.getDefaultInstance()),
    /** Every open file of the dump, once, whatever its type. */
    FILES("FILES", "files.img", 0x56303138, FileEntry.getDefaultInstance()),
    FS("FS", "fs-%d.img", 0x51403912, FsEntry.getDefaultInstance()),
    PIPES_DATA("PIPES_DATA", "pipes-data.img", Head.COMMON, 0x56453709,
            null, PipeDataEntry.getDefaultInstance(), Payload.PIPE_DATA),
    FIFO_DATA("FIFO_DATA", "fifo-data.img", Head.COMMON, 0x59333054,
            null, PipeDataEntry.getDefaultInstance(), Payload.PIPE_DATA),
    /** One established TCP connection (id, hex: the socket's inode); the queues' bytes follow the entry. */
    TCP_STREAM("TCP_STREAM", "tcp-stream-%x.img", Head.COMMON, 0x51465506,
            null, TcpStreamEntry.getDefaultInstance(), Payload.TCP_STREAM),
    TTY_INFO("TTY_INFO", "tty-info.img", 0x59453036, TtyInfoEntry.getDefaultInstance()),
    TTY_DATA("TTY_DATA", "tty-data.img", 0x59413026, TtyDataEntry.getDefaultInstance()),
    MEMFD_INODE("MEMFD_INODE", "memfd.img", 0x48453499, MemfdInodeEntry.getDefaultInstance()),
    /** File locks held at dump (--file-locks): each names the task and fd it is taken through again. */
    FILE_LOCKS("FILE_LOCKS", "filelocks.img", 0x54323616, FileLockEntry.getDefaultInstance()),
    /** Contents of an unlinked file that was open at dump; id (hex): the remap id. */
    GHOST_FILE("GHOST_FILE", "ghost-file-%x.img", Head.COMMON, 0x52583605,
            GhostFileEntry.getDefaultInstance(), GhostChunkEntry.getDefaultInstance(), Payload.GHOST_FILE),
    SECCOMP("SECCOMP", "seccomp.img", 0x64413049, SeccompEntry.getDefaultInstance()),
    TIMENS("TIMENS", "timens-%d.img", 0x43114433, TimensEntry.getDefaultInstance()),
    STATS_DUMP("STATS", "stats-dump.img", Head.SERVICE, 0x57093306, StatsEntry.getDefaultInstance()),
    STATS_RESTORE("STATS", "stats-restore.img", Head.SERVICE, 0x57093306, StatsEntry.getDefaultInstance()),
    // Legacy per-type images: modern CRIU writes these inside files.img and core,
    // but reads of older image sets still meet them.
    REG_FILES("REG_FILES", "reg-files.img", 0x50363636, RegFileEntry.getDefaultInstance()),
    PIPES("PIPES", "pipes.img", 0x56513555, PipeEntry.getDefaultInstance()),
    FIFO("FIFO", "fifo.img", 0x58364939, FifoEntry.getDefaultInstance()),
    EVENTFD_FILE("EVENTFD_FILE", "eventfd.img", 0x44523722, EventfdFileEntry.getDefaultInstance()),
    UNIXSK("UNIXSK", "unixsk.img", 0x54373943, UnixSkEntry.getDefaultInstance()),
    /** Data queued in unix sockets at dump; each sk_packet_entry is followed by its {@code length} bytes. */
    SK_QUEUES("SK_QUEUES", "sk-queues.img", Head.COMMON, 0x56264026,
            null, SkPacketEntry.getDefaultInstance(), Payload.SK_PACKET),
    INETSK("INETSK", "inetsk.img", 0x56443851, InetSkEntry.getDefaultInstance()),
    TTY_FILES("TTY_FILES", "tty.img", 0x59433025, TtyFileEntry.getDefaultInstance()),
    SIGACT("SIGACT", "sigacts-%d.img", 0x55344201, SaEntry.getDefaultInstance()),
    ITIMERS("ITIMERS", "itimers-%d.img", 0x57464056, ItimerEntry.getDefaultInstance()),
    POSIX_TIMERS("POSIX_TIMERS", "posix-timers-%d.img", 0x52603957, PosixTimerEntry.getDefaultInstance()),
    CREDS("CREDS", "creds-%d.img", 0x54023547, CredsEntry.getDefaultInstance()),
    RLIMIT("RLIMIT", "rlimit-%d.img", 0x57113925, RlimitEntry.getDefaultInstance());

    /** The head magic an image starts with, before its own magic. */
    enum Head {
        /** Inventory (CRIU writes it without a head) and raw images. */
        NONE(0),
        COMMON(ImageMagic.IMG_COMMON),
        SERVICE(ImageMagic.IMG_SERVICE);

        final int magic;

        Head(int magic) {
            this.magic = magic;
        }
    }

    private final String magicName;
    private final String pattern;
    private final Pattern namePattern;
    private final Head head;
    private final int magic;
    private final Message first;
    private final Message entry;
    private final Payload payload;

    ImageKind(String magicName, String pattern, int magic, Message entry) {
        this(magicName, pattern, Head.COMMON, magic, null, entry, Payload.NONE);
    }

    ImageKind(String magicName, String pattern, Head head, int magic, Message entry) {
        this(magicName, pattern, head, magic, null, entry, Payload.NONE);
    }

    ImageKind(String magicName, String pattern, Head head, int magic, Message first, Message entry, Payload payload) {
        this.magicName = magicName;
        this.pattern = pattern;
        this.namePattern = Pattern.compile(Pattern.quote(pattern)
                .replace("%d", "\\E(0|[1-9][0-9]*)\\Q")
                .replace("%x", "\\E([0-9a-f]+)\\Q"));
        this.head = head;
        this.magic = magic;
        this.first = first;
        this.entry = entry;
        this.payload = payload;
    }

    /** The magic's name as crit prints it, e.g. {@code CORE}. */
    public String magicName() {
        return magicName;
    }

    /** The file name pattern, e.g. {@code core-%d.img}. */
    public String pattern() {
        return pattern;
    }

    /** The image's own magic number; 0 for raw images. */
    public int magic() {
        return magic;
    }

    /** The head magic before {@link #magic()}: {@link ImageMagic#IMG_COMMON}, {@link ImageMagic#IMG_SERVICE}, or 0. */
    public int headMagic() {
        return head.magic;
    }

    /** Raw images (pages) hold bytes, not entries. */
    public boolean isRaw() {
        return entry == null;
    }

    /** Whether the file name takes an id. */
    public boolean hasId() {
        return pattern.contains("%");
    }

    /** The file name of the one image of this kind, e.g. {@code pstree.img}. */
    public String fileName() {
        if (hasId()) {
            throw new IllegalArgumentException(name() + " images are named " + pattern + ": give an id");
        }
        return pattern;
    }

    /** The file name of the image with this id, e.g. {@code core-42.img}. */
    public String fileName(long id) {
        if (!hasId()) {
            throw new IllegalArgumentException(name() + " has one image, " + pattern + ", without an id");
        }
        if (id < 0) {
            throw new IllegalArgumentException(name() + " image id must not be negative: " + id);
        }
        return String.format(pattern, id);
    }

    /** The kind whose file name pattern matches this name, e.g. {@code CORE} for {@code core-42.img}. */
    public static Optional<ImageKind> ofFileName(String name) {
        return Arrays.stream(values()).filter(k -> k.namePattern.matcher(name).matches()).findFirst();
    }

    /** The first kind with this image magic (several kinds may share one). */
    public static Optional<ImageKind> ofMagic(int magic) {
        return Arrays.stream(values()).filter(k -> !k.isRaw() && k.magic == magic).findFirst();
    }

    /** The message type of the entry at this index (pagemap and ghost-file images open with another type). */
    public Descriptor entryType(long index) {
        return prototype(index).getDescriptorForType();
    }

    /** The parser for the entry at this index. */
    public Parser<? extends Message> parser(long index) {
        return prototype(index).getParserForType();
    }

    Payload payload() {
        return payload;
    }

    private Message prototype(long index) {
        if (isRaw()) {
            throw new IllegalStateException(name() + " images are raw: they hold no entries");
        }
        return index == 0 && first != null ? first : entry;
    }
}
