package dev.cryo.pagexfer;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

import javax.net.ssl.SSLContext;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.pagexfer.internal.PlainWire;
import dev.cryo.pagexfer.internal.ServerSession;
import dev.cryo.pagexfer.internal.TlsContexts;
import dev.cryo.pagexfer.internal.TlsWire;
import dev.cryo.pagexfer.internal.Wire;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.TcpSocket;

/**
 * {@code cryo page-server}: receives the pages of one dump or pre-dump over TCP, in CRIU's page-server
 * protocol, and writes them into an images directory as {@code pagemap-N.img} and {@code pages-N.img}, as the
 * dump would have written them locally (pages images numbered from 0x10001, as CRIU's server does, clear of
 * the numbers a dump writing into the same directory uses). A step of a pre-dump chain names its previous
 * step with {@code prevImagesDir}, relative to the directory, which is linked as {@code parent}: the answers
 * to OPEN2 and PARENT say whether it holds a process's pagemap, and runs marked as in the parent are checked
 * against it.
 *
 * <pre>{@code
 * try (PageServer server = PageServer.listen(new PageServer.Options(dir, address, 0, null, null))) {
 *     int port = server.port();           // the kernel's choice for port 0
 *     PageServer.Session s = server.serve();  // one session, then the listening socket is closed
 * }
 * }</pre>
 *
 * One connection is served, as CRIU's page server does; a second one is refused. A session that fails
 * (a peer that breaks the protocol or goes away before CLOSE) removes everything it wrote and throws a
 * {@link PageServerException} naming the peer and the fault. Nothing is written outside the directory: image
 * names are built from numbers and checked, and images are opened without following links.
 */
public final class PageServer implements AutoCloseable {
    /** CRIU's page server numbers its pages images from here (up_page_ids_base). */
    private static final long PAGES_ID_BASE = 0x10001;

    /**
     * @param dir           images directory, which must exist
     * @param address       address to listen on (cryo listens on loopback unless told otherwise)
     * @param port          TCP port; 0 lets the kernel choose ({@link #port} says which)
     * @param prevImagesDir the previous step's directory relative to {@code dir} (e.g. {@code ../pre1}), or null
     * @param tls           TLS credentials, or null
     */
    public record Options(Path dir, InetAddress address, int port, Path prevImagesDir, Tls tls) {}

    /** What one session received. */
    public record Session(String peer, int images, long pages, long bytes, long nanos) {}

    private final Options options;
    private final DirectoryImageStore store;
    private final DirectoryImageStore parent;
    private final boolean linkedParent;
    private final SSLContext tls;
    private final TcpSocket listening;
    private long nextPagesId = PAGES_ID_BASE;

    private PageServer(Options options, DirectoryImageStore store, DirectoryImageStore parent, boolean linkedParent,
                       SSLContext tls, TcpSocket listening) {
        this.options = options;
        this.store = store;
        this.parent = parent;
        this.linkedParent = linkedParent;
        this.tls = tls;
        this.listening = listening;
    }

    /** Checks the directory and the TLS files, links the parent, and listens. */
    public static PageServer listen(Options o) {
        Path dir = o.dir();
        if (!Files.isDirectory(dir)) {
            throw new PageServerException("cannot receive pages into " + dir + ": no such directory");
        }
        if (Files.exists(dir.resolve(ImageKind.INVENTORY.fileName()))) {
            throw new PageServerException("cannot receive pages into " + dir + ": it holds a complete dump (inventory.img)");
        }
        SSLContext ctx = o.tls() == null ? null : TlsContexts.forServer(o.tls());
        DirectoryImageStore store = new DirectoryImageStore(dir);
        boolean linked = false;
        Path link = dir.resolve(DirectoryImageStore.PARENT_LINK);
        if (o.prevImagesDir() != null) {
            Path prev = dir.resolve(o.prevImagesDir());
            if (!Files.isDirectory(prev)) {
                throw new PageServerException("cannot use " + o.prevImagesDir() + " as the previous images: " + prev + " is not a directory");
            }
            if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
                store.linkParent(o.prevImagesDir());
                linked = true;
            } else if (!sameFile(link, prev)) {
                throw new PageServerException("cannot link " + dir + " to " + o.prevImagesDir() + ": its parent link points elsewhere");
            }
        }
        try {
            DirectoryImageStore parent = store.parent().orElse(null);
            TcpSocket s;
            try {
                s = TcpSocket.listen(o.address(), o.port(), 1);
            } catch (ErrnoException e) {
                throw new PageServerException("cannot listen on " + o.address().getHostAddress() + ":" + o.port() + ": " + e.reason(), e);
            }
            return new PageServer(o, store, parent, linked, ctx, s);
        } catch (RuntimeException e) {
            if (linked) {
                unlink(link);
            }
            throw e;
        }
    }

    /** The port it listens on. */
    public int port() {
        return listening.localPort();
    }

    public InetAddress address() {
        return options.address();
    }

    /** The previous snapshot it reads, or null. */
    public Path parentDir() {
        return parent == null ? null : parent.directory();
    }

    /**
     * Waits for one connection and receives its session, up to CLOSE and the peer's end of the stream. The
     * listening socket is closed once the connection is there.
     */
    public Session serve() {
        try (TcpSocket conn = listening.accept()) {
            listening.close();
            conn.noDelay(true); // it only receives, but for its answers, which must leave at once
            PlainWire plain = new PlainWire(conn, false, null, null);
            try (Wire w = tls == null ? plain : TlsWire.server(plain, tls)) {
                ServerSession.Result r = new ServerSession(w, store, parent, this::nextPagesId).run();
                awaitEnd(w);
                return new Session(r.peer(), r.images(), r.pages(), r.bytes(), r.nanos());
            }
        } catch (RuntimeException e) {
            if (linkedParent) {
                unlink(options.dir().resolve(DirectoryImageStore.PARENT_LINK));
            }
            throw e;
        }
    }

    /** The next pages image number from 0x10001 on that the directory does not hold yet. */
    private long nextPagesId() {
        while (store.exists(ImageKind.PAGES.fileName(nextPagesId))) {
            nextPagesId++;
        }
        return nextPagesId++;
    }

    /**
     * After its CLOSE is answered the peer ends the stream, as CRIU's server expects (so that the TIME_WAIT
     * is on the peer's side); the images are complete by then, so anything else only ends the wait.
     */
    private static void awaitEnd(Wire w) {
        try {
            w.socket().timeouts(java.time.Duration.ofSeconds(10));
            try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
                w.recv(a.allocate(64));
            }
        } catch (RuntimeException ignored) {
            // a peer that lingers or resets: its pages are in already
        }
    }

    @Override
    public void close() {
        listening.close();
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    private static void unlink(Path link) {
        try {
            Files.deleteIfExists(link);
        } catch (IOException ignored) {
            // best effort: the failure says what went wrong
        }
    }
}
