package dev.cryo.pagexfer.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;

import dev.cryo.images.ImageFormatException;
import dev.cryo.images.ImageStore;
import dev.cryo.images.PagemapFlags;
import dev.cryo.pagexfer.ImagePageSink;
import dev.cryo.pagexfer.PageServerException;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PageSource;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * The server's side of one session: commands from the peer, checked one by one, into pagemap and pages
 * images in {@code store} as a local dump would write them. Anything the peer does wrong ends the session
 * with one line naming the peer and the fault, and everything the session wrote is removed.
 */
public final class ServerSession {
    /** Largest pagemap entry: its nr_pages is a u32. */
    private static final long MAX_PAGES = 0xffff_ffffL;
    /** Runs end below 2^63: higher, a vaddr is no user address and no shared-memory offset. */
    private static final long MAX_END = Long.MAX_VALUE;
    private static final long BUFFER = 1L << 20;

    /** What a finished session received. */
    public record Result(String peer, int images, long pages, long bytes, long nanos) {}

    private final Wire wire;
    private final ImageStore store;
    private final ImageStore parent;
    private final LongSupplier pagesIds;
    private final Set<Long> opened = new HashSet<>();
    private Open current;
    /** Plain connections: the pipe pages go through from the socket into the pages image; null for TLS. */
    private Io.Pipe pipe;
    private int images;
    private long pages;
    private long bytes;

    /** The pagemap being received: its sink, where its last run ended, and what the parent holds of it (read on first use). */
    private static final class Open {
        final long dstId;
        final PagemapType type;
        final long id;
        final String name;
        final ImagePageSink sink;
        final boolean hasParent;
        long end;
        List<long[]> parentHolds;

        Open(long dstId, PagemapType type, long id, ImagePageSink sink, boolean hasParent) {
            this.dstId = dstId;
            this.type = type;
            this.id = id;
            this.name = type.fileName(id);
            this.sink = sink;
            this.hasParent = hasParent;
        }
    }

    /**
     * @param parent   the previous snapshot of the chain (the server's {@code parent} link), or null
     * @param pagesIds numbers for the pages images, one per pagemap
     */
    public ServerSession(Wire wire, ImageStore store, ImageStore parent, LongSupplier pagesIds) {
        this.wire = wire;
        this.store = store;
        this.parent = parent;
        this.pagesIds = pagesIds;
    }

    public Result run() {
        long start = System.nanoTime();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(Command.SIZE, 8);
            MemorySegment answer = arena.allocate(4, 4);
            MemorySegment buffer = arena.allocate(BUFFER, 4096);
            pipe = wire instanceof PlainWire ? pagePipe() : null;
            long commands = 0;
            while (true) {
                long got = wire.recvFully(header);
                if (got == 0) {
                    throw fault(commands == 0 ? "the connection ended before any command" : "the connection ended before CLOSE: the dump is incomplete");
                }
                if (got < Command.SIZE) {
                    throw fault("the connection ended inside a command header (" + got + " of " + Command.SIZE + " bytes)");
                }
                commands++;
                Command c = Command.readFrom(header);
                switch (c.code()) {
                    case Command.OPEN, Command.OPEN2 -> open(c, answer);
                    case Command.PARENT -> hasParent(c, answer);
                    case Command.ADD, Command.HOLE, Command.ADD_F -> add(c, buffer);
                    case Command.CLOSE, Command.FORCE_CLOSE -> {
                        finishCurrent();
                        answer.set(ValueLayout.JAVA_INT, 0, 0);
                        wire.send(answer);
                        wire.push();
                        return new Result(wire.peer(), images, pages, bytes, System.nanoTime() - start);
                    }
                    case Command.GET -> throw fault("GET asks for pages to restore lazily; this page server receives a dump");
                    default -> throw fault(String.format("unknown command 0x%x (flags 0x%x)", c.code(), c.flags()));
                }
            }
        } catch (RuntimeException e) {
            abandon();
            throw e instanceof PageServerException p ? p : fault(describe(e), e);
        } finally {
            if (pipe != null) {
                pipe.close();
            }
        }
    }

    /**
     * The pipe that a plain connection's pages go through, socket to pages image, without a copy in cryo: one
     * copy in all (the kernel's, into the file) where recv and write made two. Sized to {@link #BUFFER} if
     * pipe-max-size allows, else as the kernel makes it.
     */
    private static Io.Pipe pagePipe() {
        Io.Pipe p = Io.pipe(0);
        try {
            Io.fcntl(p.write().fd(), Kernel.F_SETPIPE_SZ, BUFFER);
        } catch (ErrnoException e) {
            // an unprivileged server with a lower pipe-max-size: the default size serves, in more calls
        }
        return p;
    }

    private void open(Command c, MemorySegment answer) {
        PagemapType type = type(c);
        String name = type.fileName(c.id());
        if (!opened.add(c.dstId())) {
            throw fault("a second " + Command.name(c.code()) + " of " + name + " in one session");
        }
        if (store.exists(name)) {
            throw fault(name + " is in " + store + " already (from another dump)");
        }
        finishCurrent();
        boolean hasParent = parent != null && parent.exists(name);
        current = new Open(c.dstId(), type, c.id(), new ImagePageSink(store, type, c.id(), (int) pagesIds.getAsLong()), hasParent);
        if (c.code() == Command.OPEN2) {
            answer.set(ValueLayout.JAVA_BYTE, 0, (byte) (hasParent ? 1 : 0));
            wire.send(answer.asSlice(0, 1));
            wire.push();
        }
    }

    private void hasParent(Command c, MemorySegment answer) {
        PagemapType type = type(c);
        boolean has = parent != null && parent.exists(type.fileName(c.id()));
        answer.set(ValueLayout.JAVA_INT, 0, has ? 1 : 0);
        wire.send(answer);
        wire.push();
    }

    private void add(Command c, MemorySegment buffer) {
        Open o = current;
        if (o == null || o.dstId != c.dstId()) {
            PagemapType type = c.type();
            String name = type == null ? String.format("an image of unknown type (dst_id 0x%x)", c.dstId()) : type.fileName(c.id());
            throw fault("pages for " + name + ", which " + (opened.contains(c.dstId()) ? "is not open any more" : "was never opened"));
        }
        int flags = switch (c.code()) {
            case Command.ADD -> PagemapFlags.PE_PRESENT;
            case Command.HOLE -> PagemapFlags.PE_PARENT;
            default -> c.flags();
        };
        int present = PagemapFlags.PE_PRESENT;
        boolean known = flags == present || flags == PagemapFlags.PE_PARENT || flags == PagemapFlags.PE_LAZY
                || flags == (present | PagemapFlags.PE_LAZY);
        if (!known) {
            throw fault(String.format("%s of %s has pagemap flags 0x%x (PE_PARENT 1, PE_LAZY 2, PE_PRESENT 4 make no such set)",
                    Command.name(c.code()), o.name, flags));
        }
        long n = c.nrPages();
        long vaddr = c.vaddr();
        if (n == 0) {
            throw fault(String.format("a run of 0 pages at 0x%x in %s", vaddr, o.name));
        }
        if (Long.compareUnsigned(n, MAX_PAGES) > 0 || vaddr < 0 || vaddr > MAX_END - n * 4096) {
            throw fault(String.format("%s pages at 0x%x in %s would overflow (a run holds at most 2^32-1 pages and ends below 2^63)",
                    Long.toUnsignedString(n), vaddr, o.name));
        }
        if ((vaddr & 4095) != 0) {
            throw fault(String.format("vaddr 0x%x in %s is not page-aligned", vaddr, o.name));
        }
        if (vaddr < o.end) {
            throw fault(String.format("pages at 0x%x in %s come before the end of the run before them (0x%x): runs must go up",
                    vaddr, o.name, o.end));
        }
        long end = vaddr + n * 4096;
        if ((flags & PagemapFlags.PE_PARENT) != 0) {
            checkInParent(o, vaddr, end);
        }
        o.sink.begin(List.of(new PageSink.Run(vaddr, n, flags)));
        o.end = end;
        pages += n;
        if ((flags & PagemapFlags.PE_PRESENT) == 0) {
            return;
        }
        if (pipe != null && o.sink.takesPipes()) {
            for (long left = n * 4096; left > 0; ) {
                long got = ((PlainWire) wire).recvToPipe(pipe.write(), Math.min(BUFFER, left));
                if (got == 0) {
                    long had = n * 4096 - left;
                    throw fault(String.format("the connection ended inside the pages of %s at 0x%x (%d of %d bytes)",
                            o.name, vaddr, had, n * 4096));
                }
                o.sink.writeFromPipe(pipe.read(), got);
                left -= got;
                bytes += got;
            }
            return;
        }
        for (long left = n * 4096; left > 0; ) {
            MemorySegment chunk = buffer.asSlice(0, Math.min(buffer.byteSize(), left));
            long got = wire.recvFully(chunk);
            if (got < chunk.byteSize()) {
                long had = n * 4096 - left + got;
                throw fault(String.format("the connection ended inside the pages of %s at 0x%x (%d of %d bytes)",
                        o.name, vaddr, had, n * 4096));
            }
            o.sink.write(chunk);
            left -= got;
            bytes += got;
        }
    }

    /** A run marked PE_PARENT must be in the parent's pagemap (CRIU checks the same on its side). */
    private void checkInParent(Open o, long start, long end) {
        if (!o.hasParent) {
            throw fault(String.format("pages at 0x%x in %s are marked as in the parent, but this page server has no parent %s"
                    + " (--prev-images-dir)", start, o.name, o.name));
        }
        if (o.parentHolds == null) {
            o.parentHolds = PageSource.coverage(parent, o.type, o.id);
        }
        long at = start;
        for (long[] r : o.parentHolds) {
            if (r[1] <= at) {
                continue;
            }
            if (r[0] > at) {
                break;
            }
            at = r[1];
            if (at >= end) {
                return;
            }
        }
        throw fault(String.format("pages 0x%x-0x%x of %s are marked as in the parent, which has no 0x%x", start, end, o.name, at));
    }

    private PagemapType type(Command c) {
        PagemapType t = c.type();
        if (t == null) {
            throw fault(String.format("%s of an image of unknown type %d (dst_id 0x%x)", Command.name(c.code()), c.dstId() & 0xff, c.dstId()));
        }
        return t;
    }

    private void finishCurrent() {
        if (current != null) {
            Open o = current;
            current = null;
            try (ImagePageSink s = o.sink) {
                s.commit();
            }
            images++;
        }
    }

    /** Removes every image this session wrote, finished or not: a broken session leaves nothing behind. */
    private void abandon() {
        if (current != null) {
            current.sink.close();
            current = null;
        }
        store.abortAll();
    }

    private PageServerException fault(String what) {
        return new PageServerException(wire.peer() + ": " + what);
    }

    private PageServerException fault(String what, Throwable cause) {
        return new PageServerException(wire.peer() + ": " + what, cause);
    }

    private static String describe(RuntimeException e) {
        return switch (e) {
            case ImageFormatException f -> f.getMessage();
            case java.io.UncheckedIOException u -> u.getMessage();
            default -> String.valueOf(e.getMessage());
        };
    }
}
