package dev.cryo.pagexfer.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.ImageStore;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.pagexfer.PageServerException;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.TcpSocket;

/**
 * The dump's side of a page-server connection, in CRIU's protocol and order: for each pagemap an OPEN2
 * (the answer says whether the server has a parent snapshot for it), then its runs as ADD_F commands, the
 * bytes of each present run right after its command; CLOSE at the end, whose answer confirms that the server
 * has everything. Before that, PARENT asks, for each process the previous step sent, whether the server still
 * has it as a parent. The socket is corked for the whole session; each command that waits for an answer is
 * pushed at once.
 */
public final class PageServerClient implements PageDestination {
    /** SO_SNDBUF of the connection: 4 MiB, four of the dump's 1 MiB pipes (the kernel caps it at wmem_max). */
    private static final int SEND_BUFFER = 4 << 20;

    private final PageServerEndpoint endpoint;
    private final Wire wire;
    private final ImageStore store;
    private final Arena arena = Arena.ofShared(); // the dump may use it from its tracer thread
    private final MemorySegment header = arena.allocate(Command.SIZE, 8);
    private final MemorySegment answer = arena.allocate(4, 4);
    private final Map<Integer, List<long[]>> parentHolds = new LinkedHashMap<>();
    private final Map<Integer, List<long[]>> holds = new LinkedHashMap<>();
    private ServerSink active;
    private String broken;
    private boolean committed;
    private boolean closed;

    private PageServerClient(PageServerEndpoint endpoint, Wire wire, ImageStore store) {
        this.endpoint = endpoint;
        this.wire = wire;
        this.store = store;
    }

    public static PageServerClient connect(PageServerEndpoint endpoint, ImageStore store, ImageStore localParent, Runnable checkpoint) {
        TcpSocket socket;
        try {
            socket = TcpSocket.connect(endpoint.address(), endpoint.port());
        } catch (ErrnoException e) {
            throw new PageServerException("cannot connect to the page server at " + endpoint + ": " + e.reason(), e);
        }
        PageServerClient c = null;
        try {
            PlainWire raw = new PlainWire(socket, endpoint.cork(), endpoint.stall(), checkpoint);
            Wire wire = endpoint.tls() == null ? raw
                    : TlsWire.client(raw, TlsContexts.of(endpoint.tls()), endpoint.address().getHostAddress(), endpoint.port(),
                            endpoint.tls().checkName());
            // Room for a few pipe-fulls in flight: the next one is spliced on while the server drains the last,
            // where the kernel's own sizing starts at 16 KiB and grows as the transfer goes (docs/benchmarks.md)
            socket.sendBuffer(SEND_BUFFER);
            if (endpoint.cork()) {
                // Corked from the start, as CRIU does since 2015 ("the smartest mode ever" for such transfers):
                // data leaves in full segments, and each command that waits for an answer is pushed by hand.
                socket.cork(true);
            }
            c = new PageServerClient(endpoint, wire, store);
            c.askParents(HoldingsRecord.read(localParent));
            return c;
        } catch (RuntimeException e) {
            if (c != null) {
                c.close();
            } else {
                socket.close();
            }
            throw c == null ? e : c.failed(e, "asking for parent snapshots");
        }
    }

    /** PARENT for every process the previous step sent: what the server has not got as a parent counts as not held. */
    private void askParents(Map<Integer, List<long[]>> previous) {
        for (Map.Entry<Integer, List<long[]>> e : previous.entrySet()) {
            send(Command.parent(PagemapType.PROCESS, e.getKey()));
            wire.push();
            if (wire.recvFully(answer) != 4) {
                throw new PageServerException(endpoint + ": the connection ended before the answer to PARENT");
            }
            if (answer.get(ValueLayout.JAVA_INT, 0) != 0) {
                parentHolds.put(e.getKey(), e.getValue());
            }
        }
    }

    private void send(Command c) {
        c.writeTo(header);
        wire.send(header);
    }

    @Override
    public PageSink open(PagemapType type, long id) {
        if (broken != null) {
            throw new IllegalStateException("the page-server session is abandoned: " + broken);
        }
        return new ServerSink(type, id);
    }

    @Override
    public List<long[]> parentHolds(int pid) {
        return parentHolds.getOrDefault(pid, List.of());
    }

    @Override
    public String describe() {
        return "the page server at " + endpoint;
    }

    @Override
    public void commit() {
        if (active != null) {
            throw new IllegalStateException(active.name + " is not committed");
        }
        if (broken != null) {
            throw new IllegalStateException("the page-server session is abandoned: " + broken);
        }
        try {
            send(Command.close());
            wire.push();
            if (wire.recvFully(answer) != 4) {
                throw new PageServerException(endpoint + ": the connection ended before the page server confirmed the pages"
                        + " (its own output says why)");
            }
        } catch (RuntimeException e) {
            throw failed(e, "closing the session");
        }
        int status = answer.get(ValueLayout.JAVA_INT, 0);
        if (status != 0) {
            throw new PageServerException("the page server at " + endpoint + " did not keep the pages (status " + status + ")");
        }
        committed = true;
        HoldingsRecord.write(store, holds);
    }

    @Override
    public void close() {
        // Without CLOSE, the server sees the stream end too early and throws away what it got.
        if (closed) {
            return;
        }
        closed = true;
        try (arena) {
            wire.close();
        }
    }

    /** One line for a failure on the wire, with what was being done. */
    private RuntimeException failed(RuntimeException e, String doing) {
        if (e instanceof PageServerException p) {
            String m = p.getMessage();
            return new PageServerException((m.startsWith(endpoint.toString()) ? "page server " : "") + m + " (" + doing + ")", p);
        }
        return e;
    }

    /** The pages of one pagemap, sent as they come: a run's command when its bytes (or the runs after it) begin. */
    private final class ServerSink implements PageSink {
        private final PagemapType type;
        private final long id;
        private final String name;
        private final ArrayDeque<Run> pending = new ArrayDeque<>();
        private final List<long[]> covered = new ArrayList<>();
        private long bytesLeft;
        private long runBytes;
        private boolean opened;
        private boolean hasParent;
        private boolean done;

        ServerSink(PagemapType type, long id) {
            this.type = type;
            this.id = id;
            this.name = type.fileName(id);
        }

        @Override
        public void begin(List<Run> runs) {
            if (done) {
                throw new IllegalStateException(name + " is committed already");
            }
            for (Run r : runs) {
                pending.add(r);
                if (!covered.isEmpty() && covered.getLast()[1] == r.vaddr()) {
                    covered.getLast()[1] = r.end();
                } else {
                    covered.add(new long[] {r.vaddr(), r.end()});
                }
            }
        }

        @Override
        public void write(MemorySegment data) {
            try {
                ensureOpen();
                long record = wire.recordSize();
                for (long at = 0; at < data.byteSize(); ) {
                    if (bytesLeft == 0) {
                        nextCarryingRun();
                    }
                    long n = Math.min(bytesLeft, data.byteSize() - at);
                    if (record > 0) {
                        // records cut at multiples of their size from the run's start, where CRIU's server expects them
                        n = Math.min(n, record - (runBytes - bytesLeft) % record);
                    }
                    wire.send(data.asSlice(at, n));
                    at += n;
                    bytesLeft -= n;
                }
            } catch (RuntimeException e) {
                throw failed(e, "sending " + name);
            }
        }

        /** Plain TCP only: TLS must encrypt the bytes, so they pass through cryo's buffers anyway. */
        @Override
        public boolean takesPipes() {
            return wire instanceof PlainWire;
        }

        @Override
        public void writeFromPipe(Fd pipe, long bytes) {
            if (!(wire instanceof PlainWire plain)) {
                throw new UnsupportedOperationException(endpoint + " is a TLS link: pages cannot be spliced onto it");
            }
            try {
                ensureOpen();
                for (long at = 0; at < bytes; ) {
                    if (bytesLeft == 0) {
                        nextCarryingRun(); // its ADD_F header goes into the cork ahead of the spliced bytes
                    }
                    long n = Math.min(bytesLeft, bytes - at);
                    plain.sendFromPipe(pipe, n);
                    at += n;
                    bytesLeft -= n;
                }
            } catch (RuntimeException e) {
                throw failed(e, "sending " + name);
            }
        }

        @Override
        public void commit() {
            try {
                ensureOpen();
                if (bytesLeft != 0) {
                    throw new IllegalStateException(name + ": " + bytesLeft + " bytes of a run were not written");
                }
                while (!pending.isEmpty()) {
                    Run r = pending.poll();
                    if (r.carriesBytes()) {
                        throw new IllegalStateException(name + ": the run at 0x" + Long.toHexString(r.vaddr()) + " got no bytes");
                    }
                    sendRun(r);
                }
            } catch (RuntimeException e) {
                throw failed(e, "sending " + name);
            }
            done = true;
            active = null;
            if (type == PagemapType.PROCESS) {
                holds.put((int) id, covered);
            }
        }

        @Override
        public void close() {
            if (!done && opened) {
                // The server holds part of this pagemap: the session can only be given up.
                broken = name + " was left unfinished";
                active = null;
            }
        }

        private void ensureOpen() {
            if (opened) {
                return;
            }
            if (active != null) {
                throw new IllegalStateException("page sinks used at once: " + active.name + " and " + name);
            }
            if (broken != null) {
                throw new IllegalStateException("the page-server session is abandoned: " + broken);
            }
            active = this;
            opened = true;
            send(Command.open2(type, id));
            wire.push();
            MemorySegment one = answer.asSlice(0, 1);
            if (wire.recvFully(one) != 1) {
                throw new PageServerException(endpoint + ": the connection ended before the answer to OPEN2 of " + name);
            }
            hasParent = one.get(ValueLayout.JAVA_BYTE, 0) != 0;
        }

        private void nextCarryingRun() {
            while (true) {
                Run r = pending.poll();
                if (r == null) {
                    throw new IllegalStateException(name + ": more bytes written than its runs hold");
                }
                sendRun(r);
                if (r.carriesBytes()) {
                    bytesLeft = r.pages() * 4096;
                    runBytes = bytesLeft;
                    return;
                }
            }
        }

        private void sendRun(Run r) {
            if (r.inParent() && !hasParent) {
                throw new PageServerException("the page server at " + endpoint + " has no parent snapshot with " + name
                        + ", but pages at 0x" + Long.toHexString(r.vaddr()) + " are left there (start it with --prev-images-dir)");
            }
            send(Command.add(Command.dstId(type, id), r.vaddr(), r.pages(), r.flags()));
        }
    }
}
