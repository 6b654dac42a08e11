package dev.cryo.pagexfer.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;

import dev.cryo.pagexfer.LazyMemory;
import dev.cryo.pagexfer.LazyPageServer;
import dev.cryo.pagexfer.PageServerException;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.Page;

/**
 * The dump's side of a lazy-pages session: GET commands from a lazy-pages daemon, each answered with an
 * ADD_F header (flags 0) naming the pages that follow, as CRIU's page server answers them, until CLOSE. A
 * PARENT is answered 0 (no parent): cryo's daemon asks one first, and its answer comes once the dump has
 * committed to the daemon (its source tree holds only its lazy memory by then). Only
 * pages the dump left lazy are served: a GET for anything else ends the session with one line naming the
 * peer, the pid and the address.
 */
public final class LazySession {
    /** The most one answer carries: CRIU's daemon asks for at most 4 MiB (its MAX_XFER_LEN). */
    public static final long MAX_ANSWER = 4L << 20;
    /** A run's page count is a u32 in CRIU's images. */
    private static final long MAX_PAGES = 0xffff_ffffL;

    /** What a finished session served. */
    public record Result(String peer, long gets, long pages, long bytes, long nanos) {}

    private final Wire wire;
    private final Map<Integer, List<long[]>> lazy;
    private final LazyPageServer.Memory memory;

    /**
     * @param lazy   per pid, the [start, end) ranges left lazy, sorted
     * @param memory where their bytes are read
     */
    public LazySession(Wire wire, Map<Integer, List<long[]>> lazy, LazyPageServer.Memory memory) {
        this.wire = wire;
        this.lazy = lazy;
        this.memory = memory;
    }

    public Result run() {
        long start = System.nanoTime();
        long gets = 0;
        long pages = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(Command.SIZE, 8);
            MemorySegment answer = arena.allocate(4, 4);
            MemorySegment buffer = arena.allocate(MAX_ANSWER, Page.SIZE);
            while (true) {
                long got = wire.recvFully(header);
                if (got == 0) {
                    throw fault("the connection ended before CLOSE: the lazy-pages daemon went away");
                }
                if (got < Command.SIZE) {
                    throw fault("the connection ended inside a command header (" + got + " of " + Command.SIZE + " bytes)");
                }
                Command c = Command.readFrom(header);
                switch (c.code()) {
                    case Command.GET -> {
                        long n = serve(c, header, buffer);
                        gets++;
                        pages += n;
                    }
                    case Command.PARENT -> {
                        // cryo's daemon asks first, and hears that the dump has committed to it; no lazy dump has a parent
                        answer.set(ValueLayout.JAVA_INT, 0, 0);
                        wire.send(answer);
                        wire.push();
                    }
                    case Command.CLOSE, Command.FORCE_CLOSE -> {
                        answer.set(ValueLayout.JAVA_INT, 0, 0);
                        wire.send(answer);
                        wire.push();
                        return new Result(wire.peer(), gets, pages, pages * Page.SIZE, System.nanoTime() - start);
                    }
                    default -> throw fault(String.format("%s (flags 0x%x) is not a command of a lazy-pages session (GET, CLOSE)",
                            Command.name(c.code()), c.flags()));
                }
            }
        } catch (PageServerException e) {
            throw e;
        } catch (RuntimeException e) {
            throw fault(String.valueOf(e.getMessage()), e);
        }
    }

    /** One GET: checks it, reads the pages, answers; returns the pages sent. */
    private long serve(Command c, MemorySegment header, MemorySegment buffer) {
        if (c.type() != PagemapType.PROCESS) {
            throw fault(String.format("GET of dst_id 0x%x, which names no process's pages", c.dstId()));
        }
        long id = c.id();
        List<long[]> runs = id > Integer.MAX_VALUE ? null : lazy.get((int) id);
        if (runs == null) {
            throw fault("GET for pid " + id + ", which left no pages lazy in this dump");
        }
        long vaddr = c.vaddr();
        long asked = c.nrPages();
        if ((vaddr & (Page.SIZE - 1)) != 0 || asked <= 0 || asked > MAX_PAGES) {
            throw fault(String.format("GET of %s pages at 0x%x of pid %d: not a page-aligned run of 1 to 2^32-1 pages",
                    Long.toUnsignedString(asked), vaddr, id));
        }
        List<long[]> at = LazyMemory.clip(runs, vaddr, vaddr + Page.SIZE);
        if (at.isEmpty()) {
            throw fault(String.format("GET for pid %d at 0x%x, outside every range it left lazy", id, vaddr));
        }
        long runEnd = LazyMemory.clip(runs, vaddr, Long.MAX_VALUE).getFirst()[1];
        long n = Math.min(Math.min(asked, (runEnd - vaddr) / Page.SIZE), buffer.byteSize() / Page.SIZE);
        MemorySegment data = buffer.asSlice(0, n * Page.SIZE);
        memory.read((int) id, vaddr, data);
        new Command(Command.ADD_F, 0, n, vaddr, c.dstId()).writeTo(header);
        wire.send(header);
        wire.send(data);
        wire.push();
        return n;
    }

    private PageServerException fault(String what) {
        return new PageServerException(wire.peer() + ": " + what);
    }

    private PageServerException fault(String what, Throwable cause) {
        return new PageServerException(wire.peer() + ": " + what, cause);
    }
}
