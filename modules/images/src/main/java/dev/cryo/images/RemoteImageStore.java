package dev.cryo.images;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.cryo.images.remote.FrameChannel;
import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.UnixLink;
import dev.cryo.images.remote.proto.ImageHeader;
import dev.cryo.images.remote.proto.RemoteFrame;
import dev.cryo.images.remote.proto.RemoteFrame.Kind;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Memfd;

/**
 * The images of one snapshot behind a daemon's unix socket (seed 002): written through the image proxy by
 * a dump or pre-dump with {@code --remote} (nothing touches the source's disk), read from the image cache by
 * a restore, or from the proxy by the next step of a chain (the images of earlier steps but their pages).
 *
 * <pre>{@code
 * try (RemoteImageStore s = RemoteImageStore.claim(ImageDaemon.proxy(null), "/x/pre2", "/x/pre1", false, cancel::check)) {
 *     s.writeEntry(ImageKind.INVENTORY, inventory);   // header, bytes, closing mark, through the proxy to the cache
 *     s.complete();                                    // returns once the cache holds every image of the step
 * }
 * }</pre>
 *
 * Each image is written as pieces (a header naming image, snapshot and size, then the bytes) and a closing
 * mark; a writer closed without commit drops what it sent. Each image is read on a connection of its own,
 * which waits in the cache until the image has arrived; reading on at a later offset skips the bytes between
 * with a control message to the daemon, never by reading them. Failures are {@link RemoteImageException}s
 * naming the daemon and the image.
 */
public final class RemoteImageStore implements ImageStore, AutoCloseable {
    /** How long a daemon may take no data, or give no answer, before a dump gives up on it (as on a page server). */
    public static final Duration STALL = Duration.ofSeconds(60);

    private final ImageDaemon daemon;
    private final String snapshot;
    private final String claimedParent;
    private final boolean writable;
    private final Duration stall;
    private final Runnable checkpoint;
    private final FrameChannel control;
    private final Set<Writer> writing = ConcurrentHashMap.newKeySet();
    private final Set<String> names = ConcurrentHashMap.newKeySet();
    /** Images handed over by MAP while they arrive: how many of their bytes are known to be there. */
    private final java.util.Map<String, long[]> arriving = new ConcurrentHashMap<>();
    private final Deque<RemoteImageStore> parents = new ArrayDeque<>();
    private boolean parentKnown;
    private RemoteImageStore parent;

    private RemoteImageStore(ImageDaemon daemon, String snapshot, String claimedParent, boolean writable, Duration stall,
                             Runnable checkpoint, FrameChannel control) {
        this.daemon = daemon;
        this.snapshot = snapshot;
        this.claimedParent = claimedParent;
        this.writable = writable;
        this.stall = stall;
        this.checkpoint = checkpoint;
        this.control = control;
    }

    /**
     * Starts writing snapshot {@code snapshot} through {@code proxy}: the proxy and the cache behind it accept the
     * step (a snapshot id they have not seen, whose {@code parent}, when given, is complete there) or refuse it
     * with their reason. {@code last}: the migration's final dump. {@code checkpoint} runs each second the proxy
     * makes no progress (it may throw, to cancel); after {@link #STALL} the store gives up.
     */
    public static RemoteImageStore claim(ImageDaemon proxy, String snapshot, String parent, boolean last, Runnable checkpoint) {
        FrameChannel ch = new FrameChannel(UnixLink.connect(proxy, STALL, checkpoint));
        try {
            RemoteFrame.Builder claim = RemoteFrame.newBuilder().setKind(Kind.CLAIM).setSnapshot(snapshot).setLast(last);
            if (parent != null) {
                claim.setParent(parent);
            }
            ch.ask(claim.build());
            ch.expect("its answer to the claim of snapshot " + snapshot, Kind.ACCEPTED);
            return new RemoteImageStore(proxy, snapshot, parent, true, STALL, checkpoint, ch);
        } catch (RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Reads snapshot {@code snapshot} from {@code daemon}: the cache, where an image that has not arrived yet is
     * waited for (no time limit: a dump may be running), or the proxy, for a previous step. {@code checkpoint}
     * runs each second of waiting (it may throw, to cancel).
     */
    public static RemoteImageStore open(ImageDaemon daemon, String snapshot, Runnable checkpoint) {
        FrameChannel ch = new FrameChannel(UnixLink.connect(daemon, null, checkpoint));
        return new RemoteImageStore(daemon, snapshot, null, false, null, checkpoint, ch);
    }

    /** The snapshot's id (the step's {@code -D}). */
    public String snapshot() {
        return snapshot;
    }

    public ImageDaemon daemon() {
        return daemon;
    }

    @Override
    public RawWriter openRawWriter(String name) {
        ImageNames.check(name);
        if (!writable) {
            throw new IllegalStateException(this + " is read-only");
        }
        Writer w = new Writer(name);
        if (writing.stream().anyMatch(o -> o.name.equals(name))) {
            throw new IllegalStateException(name + " of " + snapshot + " is being written already");
        }
        writing.add(w);
        return w;
    }

    @Override
    public RawReader openRawReader(String name) {
        ImageNames.check(name);
        return new Reader(name);
    }

    @Override
    public Optional<Path> pathOf(String name) {
        ImageNames.check(name);
        return Optional.empty();
    }

    /** The most range bounds one MAP frame carries; a reader that needs more pieces reads through the stream. */
    private static final int MAX_RANGE_BOUNDS = 1 << 15;
    /** F_SEAL_SHRINK (linux/fcntl.h): a file sealed so cannot shrink under a mapping of it. */
    private static final int F_SEAL_SHRINK = 0x0002;

    /**
     * The image cache's file of image {@code name} (a memfd of its pages), mapped here: a restore reads the pages
     * in place, as it reads a local pages file. The cache checks that no byte of {@code ranges} was released
     * (deduplicated) and refuses otherwise; it hands the file only once the migration's last snapshot is
     * complete (nothing can be released any more). Empty when the daemon does not map the image (the proxy, an
     * image held otherwise, a chain that ended without its last dump): read it through {@link #openRawReader}.
     */
    @Override
    public Optional<MemorySegment> mapForReading(String name, List<long[]> ranges, Arena arena) {
        ImageNames.check(name);
        if (writable || 2L * ranges.size() > MAX_RANGE_BOUNDS) {
            return Optional.empty();
        }
        RemoteFrame.Builder ask = RemoteFrame.newBuilder().setKind(Kind.MAP).setImage(FrameChannel.header(snapshot, name, 0));
        for (long[] r : ranges) {
            ask.addRanges(r[0]).addRanges(r[1]);
        }
        UnixLink link = UnixLink.connect(daemon, stall, checkpoint);
        try (FrameChannel c = new FrameChannel(link)) {
            try {
                c.ask(ask.build());
            } catch (RemoteImageException e) {
                throw c.lastWords(e);
            }
            RemoteFrame answer = c.expect("the file of " + name + " of " + snapshot, Kind.MAPPED, Kind.MISSING);
            if (answer.getKind() == Kind.MISSING) {
                return Optional.empty();
            }
            ImageHeader h = answer.getImage();
            if (!h.getName().equals(name) || !h.getSnapshot().equals(snapshot) || h.getSize() == 0) {
                throw new RemoteImageException(c.peer() + ": answered the mapping of " + name + " of " + snapshot
                        + " with " + h.getSize() + " bytes of " + h.getName() + " of " + h.getSnapshot());
            }
            try (Fd file = link.receiveFd()) {
                long fileSize = Io.lseek(file.fd(), 0, Kernel.SEEK_END);
                if (fileSize < h.getSize() || (Memfd.seals(file) & F_SEAL_SHRINK) == 0) {
                    throw new RemoteImageException(c.peer() + ": handed a file of " + fileSize + " bytes"
                            + (fileSize < h.getSize() ? "" : " that may shrink") + " for " + name + " of " + snapshot
                            + " of " + h.getSize() + " bytes");
                }
                long length = (h.getSize() + 4095) & -4096L;
                Mapping m = Mapping.map(0, length, Kernel.PROT_READ,
                        Kernel.MAP_SHARED, file.fd(), 0);
                if (answer.hasCount() && answer.getCount() < h.getSize()) {
                    arriving.put(name, new long[] {answer.getCount(), h.getSize()});
                }
                return Optional.of(m.segment().asSlice(0, h.getSize()).reinterpret(arena, unused -> m.close()));
            } catch (ErrnoException e) {
                throw new RemoteImageException(c.peer() + ": the file of " + name + " of " + snapshot + ": " + e.getMessage(), e);
            }
        }
    }

    /** Of an image handed over while it arrives: asks the cache to answer once {@code upTo} bytes are there. */
    @Override
    public void awaitBytes(String name, long upTo) {
        long[] known = arriving.get(name);
        if (known == null || known[0] >= upTo) {
            return;
        }
        if (upTo > known[1]) {
            throw new IllegalArgumentException(upTo + " bytes of " + name + " of " + snapshot + ", which has " + known[1]);
        }
        RemoteFrame answer = query(RemoteFrame.newBuilder().setKind(Kind.AWAIT).setImage(FrameChannel.header(snapshot, name, 0))
                .setCount(upTo).build(), upTo + " bytes of " + name + " of " + snapshot, Kind.HEADER);
        ImageHeader h = answer.getImage();
        if (!h.getName().equals(name) || !h.getSnapshot().equals(snapshot) || h.getSize() < upTo) {
            throw new RemoteImageException(control.peer() + ": answered the wait for " + upTo + " bytes of " + name + " of " + snapshot
                    + " with " + h.getSize() + " bytes of " + h.getName() + " of " + h.getSnapshot());
        }
        if (h.getSize() >= known[1]) {
            arriving.remove(name);
        } else {
            known[0] = h.getSize();
        }
    }

    @Override
    public boolean exists(String name) {
        ImageNames.check(name);
        RemoteFrame answer = query(RemoteFrame.newBuilder().setKind(Kind.EXISTS).setImage(FrameChannel.header(snapshot, name, 0)).build(),
                "whether " + name + " of " + snapshot + " exists", Kind.PRESENT, Kind.MISSING);
        return answer.getKind() == Kind.PRESENT;
    }

    /** The image's size once it is complete, or announced by its writer (the bytes may still be travelling). */
    @Override
    public long size(String name) {
        ImageNames.check(name);
        RemoteFrame answer = query(RemoteFrame.newBuilder().setKind(Kind.SIZE).setImage(FrameChannel.header(snapshot, name, 0)).build(),
                "the size of " + name + " of " + snapshot, Kind.HEADER);
        ImageHeader h = answer.getImage();
        if (!h.getName().equals(name) || !h.getSnapshot().equals(snapshot)) {
            throw new RemoteImageException(control.peer() + ": answered the size of " + name + " of " + snapshot
                    + " with that of " + h.getName() + " of " + h.getSnapshot());
        }
        return h.getSize();
    }

    /** Returns once the snapshot is complete in the daemon (its dump has written every image); throws if it never will be. */
    @Override
    public void settle() {
        if (writable) {
            throw new IllegalStateException(this + " is being written: complete() completes it");
        }
        query(RemoteFrame.newBuilder().setKind(Kind.COMPLETE).setSnapshot(snapshot).build(),
                "the word that snapshot " + snapshot + " is complete", Kind.COMPLETED);
    }

    @Override
    public List<String> list() {
        RemoteFrame answer = query(RemoteFrame.newBuilder().setKind(Kind.LIST).setSnapshot(snapshot).build(),
                "the images of " + snapshot, Kind.LISTING);
        return answer.getNamesList().stream().sorted().toList();
    }

    /** The previous snapshot of the chain, as the daemon knows it (the step that wrote it named it at its claim). */
    @Override
    public synchronized Optional<RemoteImageStore> parent() {
        if (!parentKnown) {
            String id = claimedParent;
            if (!writable) {
                RemoteFrame answer = query(RemoteFrame.newBuilder().setKind(Kind.PARENT).setSnapshot(snapshot).build(),
                        "the parent of " + snapshot, Kind.LISTING);
                id = answer.hasParent() ? answer.getParent() : null;
            }
            if (id != null) {
                parent = open(daemon, id, checkpoint);
                parents.push(parent);
            }
            parentKnown = true;
        }
        return Optional.ofNullable(parent);
    }

    @Override
    public void delete(String name) {
        ImageNames.check(name);
        if (!writable) {
            throw new IllegalStateException(this + " is read-only");
        }
        send(RemoteFrame.newBuilder().setKind(Kind.DROP).setImage(FrameChannel.header(snapshot, name, 0)).build());
        names.remove(name);
    }

    /** Drops every image of the snapshot, in the proxy and in the cache: the step failed. Best effort: a lost connection drops it too. */
    @Override
    public void abortAll() {
        if (!writable) {
            return;
        }
        for (Writer w : writing) {
            w.abandon();
        }
        try {
            control.ask(RemoteFrame.newBuilder().setKind(Kind.ABORT).setSnapshot(snapshot).build());
        } catch (RemoteImageException gone) {
            // a snapshot whose connection ends before COMPLETE is dropped by the daemons
        }
        names.clear();
    }

    /**
     * The step has written its last image: returns once the cache has every image of the snapshot (the proxy
     * waits for the cache's word), so that a dump kills its tree only when the images are safe on the other side.
     */
    public void complete() {
        if (!writing.isEmpty()) {
            throw new IllegalStateException(writing.iterator().next().name + " of " + snapshot + " is still being written");
        }
        query(RemoteFrame.newBuilder().setKind(Kind.COMPLETE).setSnapshot(snapshot).build(),
                "the image cache's word that it holds every image of " + snapshot, Kind.COMPLETED);
    }

    /** A restore from this snapshot ended well: the cache's work is done, and it ends. */
    public void done() {
        send(RemoteFrame.newBuilder().setKind(Kind.DONE).setSnapshot(snapshot).build());
    }

    private synchronized RemoteFrame query(RemoteFrame request, String waitingFor, Kind... answers) {
        try {
            control.ask(request);
        } catch (RemoteImageException e) {
            throw control.lastWords(e);
        }
        return control.expect(waitingFor, answers);
    }

    private void send(RemoteFrame frame) {
        try {
            control.ask(frame);
        } catch (RemoteImageException e) {
            throw control.lastWords(e);
        }
    }

    /** Closes the connections; a writing store that was neither completed nor aborted is dropped by the daemons. */
    @Override
    public void close() {
        synchronized (this) {
            while (!parents.isEmpty()) {
                parents.pop().close();
            }
        }
        control.close();
    }

    @Override
    public String toString() {
        return "snapshot " + snapshot + " of " + daemon;
    }

    /** An image going out as pieces (header, bytes), then its closing mark; dropped if closed without it. */
    private final class Writer implements RawWriter {
        private final String name;
        private long position;
        private long announced = -1;
        private boolean finished;

        Writer(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public synchronized void announce(long size) {
            if (finished || position > 0 || announced >= 0) {
                throw new IllegalStateException(name + " of " + snapshot + ": announced after its first bytes, twice, or once closed");
            }
            announced = size;
            send(RemoteFrame.newBuilder().setKind(Kind.ANNOUNCE).setImage(FrameChannel.header(snapshot, name, size)).build());
        }

        @Override
        public synchronized void write(MemorySegment data) {
            if (finished) {
                throw new IllegalStateException(name + " of " + snapshot + " is already " + (names.contains(name) ? "committed" : "closed"));
            }
            if (announced >= 0 && position + data.byteSize() > announced) {
                throw new IllegalStateException(name + " of " + snapshot + ": " + (position + data.byteSize())
                        + " bytes written, more than the " + announced + " announced");
            }
            try {
                for (long done = 0; done < data.byteSize(); ) {
                    long n = Math.min(FrameChannel.MAX_DATA, data.byteSize() - done);
                    control.sendData(snapshot, name, data.asSlice(done, n));
                    done += n;
                    position += n;
                }
            } catch (RemoteImageException e) {
                throw control.lastWords(e);
            }
        }

        @Override
        public boolean takesPipes() {
            return control.takesPipes();
        }

        /** Bytes spliced onto the proxy's socket (a dump's vmspliced pages, passed on by reference). */
        @Override
        public synchronized void writeFromPipe(dev.cryo.syscalls.Fd pipe, long n) {
            if (finished) {
                throw new IllegalStateException(name + " of " + snapshot + " is already " + (names.contains(name) ? "committed" : "closed"));
            }
            if (announced >= 0 && position + n > announced) {
                throw new IllegalStateException(name + " of " + snapshot + ": " + (position + n)
                        + " bytes written, more than the " + announced + " announced");
            }
            try {
                for (long done = 0; done < n; ) {
                    long m = Math.min(FrameChannel.MAX_DATA, n - done);
                    control.sendDataFromPipe(snapshot, name, pipe, m);
                    done += m;
                    position += m;
                }
            } catch (RemoteImageException e) {
                throw control.lastWords(e);
            }
        }

        @Override
        public synchronized long position() {
            return position;
        }

        @Override
        public synchronized void commit() {
            if (finished) {
                throw new IllegalStateException(name + " of " + snapshot + " is already closed");
            }
            finished = true;
            writing.remove(this);
            send(RemoteFrame.newBuilder().setKind(Kind.END).setImage(FrameChannel.header(snapshot, name, position)).build());
            names.add(name);
        }

        /** Forgets it here; the snapshot's ABORT drops it there. */
        synchronized void abandon() {
            finished = true;
            writing.remove(this);
        }

        @Override
        public synchronized void close() {
            if (finished) {
                return;
            }
            abandon();
            try {
                control.ask(RemoteFrame.newBuilder().setKind(Kind.DROP).setImage(FrameChannel.header(snapshot, name, 0)).build());
            } catch (RemoteImageException gone) {
                // the image was never complete there, and never will be
            }
        }
    }

    /**
     * One image on a connection of its own: OPEN (answered once the image is there), then READs of the bytes
     * wanted; a read further on SKIPs the bytes between (a control message: they are not sent); a read further
     * back opens the image again.
     */
    private final class Reader implements RawReader {
        private final String name;
        private FrameChannel ch;
        private long size;
        private long cursor;

        Reader(String name) {
            this.name = name;
            open();
        }

        private void open() {
            FrameChannel c = new FrameChannel(UnixLink.connect(daemon, stall, checkpoint));
            try {
                c.ask(RemoteFrame.newBuilder().setKind(Kind.OPEN).setImage(FrameChannel.header(snapshot, name, 0)).build());
                ImageHeader h = c.expect(name + " of " + snapshot, Kind.HEADER).getImage();
                if (!h.getName().equals(name) || !h.getSnapshot().equals(snapshot)) {
                    throw new RemoteImageException(c.peer() + ": answered the opening of " + name + " of " + snapshot
                            + " with " + h.getName() + " of " + h.getSnapshot());
                }
                size = h.getSize();
                cursor = 0;
                ch = c;
            } catch (RuntimeException e) {
                c.close();
                throw e;
            }
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public int read(ByteBuffer dst, long position) {
            if (position >= size) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), size - position);
            seek(position);
            fetch(MemorySegment.ofBuffer(dst).asSlice(0, n));
            dst.position(dst.position() + n);
            return n;
        }

        @Override
        public void readFully(MemorySegment dst, long position) {
            if (position + dst.byteSize() > size) {
                long at = Math.max(position, size);
                throw new ImageFormatException(name, at, "truncated at offset " + at + " (expected "
                        + (position + dst.byteSize() - at) + " more bytes)");
            }
            seek(position);
            fetch(dst);
        }

        private void seek(long position) {
            if (ch == null || position < cursor) {
                if (ch != null) {
                    ch.close();
                    ch = null;
                }
                open();
            }
            if (position > cursor) {
                try {
                    ch.send(RemoteFrame.newBuilder().setKind(Kind.SKIP).setCount(position - cursor).build());
                } catch (RemoteImageException e) {
                    throw ch.lastWords(e);
                }
                cursor = position;
            }
        }

        /** The next {@code into.byteSize()} bytes, asked for in pieces, two pieces ahead of what has come. */
        private void fetch(MemorySegment into) {
            long total = into.byteSize();
            Deque<Long> asked = new ArrayDeque<>();
            long issued = 0;
            long received = 0;
            try {
                while (received < total) {
                    while (issued < total && asked.size() < 2) {
                        long n = Math.min(FrameChannel.MAX_DATA, total - issued);
                        ch.ask(RemoteFrame.newBuilder().setKind(Kind.READ).setCount(n).build());
                        asked.add(n);
                        issued += n;
                    }
                    long n = asked.remove();
                    ImageHeader h = ch.expect(n + " bytes of " + name + " of " + snapshot + " at offset " + (cursor + received),
                            Kind.DATA).getImage();
                    if (!h.getName().equals(name) || !h.getSnapshot().equals(snapshot) || h.getSize() != n) {
                        throw new RemoteImageException(ch.peer() + ": answered a read of " + n + " bytes of " + name + " of " + snapshot
                                + " with " + h.getSize() + " bytes of " + h.getName() + " of " + h.getSnapshot());
                    }
                    ch.receivePayload(into.asSlice(received, n), h);
                    received += n;
                }
            } catch (RemoteImageException e) {
                // the connection is out of step now: the next read opens the image again
                ch.close();
                ch = null;
                cursor = Long.MAX_VALUE;
                throw e;
            }
            cursor += total;
        }

        @Override
        public void close() {
            if (ch != null) {
                ch.close();
                ch = null;
            }
        }
    }
}
