package dev.cryo.pagexfer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.pagexfer.internal.Command;
import dev.cryo.pagexfer.internal.PlainWire;
import dev.cryo.pagexfer.internal.TlsContexts;
import dev.cryo.pagexfer.internal.TlsWire;
import dev.cryo.pagexfer.internal.Wire;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.TcpSocket;

/**
 * The lazy-pages daemon's end of post-copy: pages a lazy dump left on its side, asked for one GET at a time
 * in CRIU's page-server protocol. Each answer is checked (the pages of the image and the address asked for,
 * at least one and at most the number asked, every byte of them): a source that answers otherwise, goes
 * away, or sends nothing for {@code endpoint.stall()} fails with a {@link PageServerException} naming it.
 *
 * <pre>{@code
 * try (RemotePages source = RemotePages.connect(endpoint.withStall(Duration.ofSeconds(5)))) {
 *     long got = source.get(pid, vaddr, 16, buffer);   // 1 to 16 pages at vaddr, in buffer
 *     ...
 *     source.finish();                                 // CLOSE: the dump may let its tree go
 * }
 * }</pre>
 */
public final class RemotePages implements AutoCloseable {

    private final PageServerEndpoint endpoint;
    private final Wire wire;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment header = arena.allocate(Command.SIZE, 8);
    private final MemorySegment answer = arena.allocate(4, 4);
    private long bytes;
    private long gets;
    private boolean finished;

    private RemotePages(PageServerEndpoint endpoint, Wire wire) {
        this.endpoint = endpoint;
        this.wire = wire;
    }

    public static RemotePages connect(PageServerEndpoint endpoint) {
        TcpSocket socket;
        try {
            socket = TcpSocket.connect(endpoint.address(), endpoint.port());
        } catch (ErrnoException e) {
            throw new PageServerException("cannot connect to the lazy pages at " + endpoint + ": " + e.reason(), e);
        }
        try {
            socket.noDelay(true); // each GET waits for its answer: nothing to gain from holding it
            PlainWire raw = new PlainWire(socket, false, endpoint.stall(), null);
            Wire wire = endpoint.tls() == null ? raw
                    : TlsWire.client(raw, TlsContexts.of(endpoint.tls()), endpoint.address().getHostAddress(), endpoint.port(),
                            endpoint.tls().checkName());
            RemotePages r = new RemotePages(endpoint, wire);
            r.awaitCommitted();
            return r;
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * PARENT, and its answer: the dump answers once it has committed to this daemon (its original tree keeps only
     * the memory left to serve), so that a restore on the same machine does not race it for what the tree held.
     * CRIU's lazy page server answers PARENT as it always does.
     */
    private void awaitCommitted() {
        new Command(Command.PARENT, 0, 0, 0, Command.dstId(PagemapType.PROCESS, 0)).writeTo(header);
        wire.send(header);
        wire.push();
        if (wire.recvFully(answer) != 4) {
            throw new PageServerException(endpoint + ": the connection ended before the dump took this daemon");
        }
    }

    /**
     * GET: up to {@code pages} pages of process {@code pid} from {@code vaddr} on, into {@code into} (page-aligned,
     * room for them all); returns how many came (at least 1: a source may cut a run where its lazy range ends).
     * Only with no {@link #ask} left unanswered: the answers come in the order of the GETs.
     */
    public long get(int pid, long vaddr, long pages, MemorySegment into) {
        ask(pid, vaddr, pages);
        return answer(pid, vaddr, pages, into);
    }

    /**
     * Sends a GET and returns at once, so that the source reads and sends those pages while the caller places
     * others; its answer is taken with {@link #answer}, with the same arguments, after those of earlier GETs.
     */
    public void ask(int pid, long vaddr, long pages) {
        new Command(Command.GET, 0, pages, vaddr, Command.dstId(PagemapType.PROCESS, pid)).writeTo(header);
        wire.send(header);
        wire.push();
    }

    /** The answer to the oldest unanswered {@link #ask}, which was for these arguments; returns how many pages came. */
    public long answer(int pid, long vaddr, long pages, MemorySegment into) {
        long dstId = Command.dstId(PagemapType.PROCESS, pid);
        String what = String.format("pid %d at 0x%x", pid, vaddr);
        long got = wire.recvFully(header);
        if (got < Command.SIZE) {
            throw new PageServerException(endpoint + ": the connection ended before the answer to GET " + what
                    + (got == 0 ? "" : " (" + got + " of " + Command.SIZE + " bytes of its header)"));
        }
        Command a = Command.readFrom(header);
        if (a.code() != Command.ADD_F || a.dstId() != dstId) {
            throw new PageServerException(String.format("%s: answered GET %s with %s of dst_id 0x%x", endpoint, what,
                    Command.name(a.code()), a.dstId()));
        }
        if (a.vaddr() != vaddr) {
            throw new PageServerException(String.format("%s: answered GET %s with the pages at 0x%x", endpoint, what, a.vaddr()));
        }
        if (a.nrPages() < 1 || a.nrPages() > pages) {
            throw new PageServerException(String.format("%s: answered GET %s (%d pages) with %s pages", endpoint, what, pages,
                    Long.toUnsignedString(a.nrPages())));
        }
        long n = a.nrPages();
        long in = wire.recvFully(into.asSlice(0, n * Page.SIZE));
        if (in < n * Page.SIZE) {
            throw new PageServerException(String.format("%s: the connection ended inside the pages of GET %s: a short page"
                    + " (%d of %d bytes)", endpoint, what, in, n * Page.SIZE));
        }
        bytes += in;
        gets++;
        return n;
    }

    /** Bytes of pages received so far. */
    public long bytes() {
        return bytes;
    }

    public long gets() {
        return gets;
    }

    /** CLOSE, and its answer: the source knows every page it must serve has been taken. */
    public void finish() {
        if (finished) {
            return;
        }
        finished = true;
        new Command(Command.CLOSE, 0, 0, 0, 0).writeTo(header);
        wire.send(header);
        wire.push();
        if (wire.recvFully(answer) != 4 || answer.get(ValueLayout.JAVA_INT, 0) != 0) {
            throw new PageServerException(endpoint + ": the lazy pages' source did not confirm CLOSE");
        }
        try {
            wire.socket().shutdownOutput(); // the end of the stream tells the source the session is over
        } catch (ErrnoException ignored) {
            // it may have gone already: it has its CLOSE
        }
    }

    /** Where the pages come from, as users write it. */
    public String describe() {
        return endpoint.toString();
    }

    @Override
    public void close() {
        try (arena) {
            wire.close();
        }
    }
}
