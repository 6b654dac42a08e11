package dev.cryo.images.remote;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;

import dev.cryo.images.ImageNames;
import dev.cryo.images.remote.proto.ImageHeader;
import dev.cryo.images.remote.proto.RemoteFrame;
import dev.cryo.images.remote.proto.RemoteFrame.Kind;

/**
 * Frames on a {@link ByteLink}, the same on every hop: a u32 little-endian length, a {@link RemoteFrame} of
 * that length, and for {@code DATA} the bytes its {@link ImageHeader} announces. Everything received is
 * checked before it is trusted: a length over {@link #MAX_FRAME}, a frame that does not parse, an image name
 * with '/' or "..", a snapshot id that is no plain path, a piece over {@link #MAX_DATA}, a stream cut inside a
 * frame or its bytes: each is a {@link RemoteImageException} naming the peer (and the image, where there is one).
 *
 * <p>Sending is safe from several threads (a frame and its bytes go together); so is receiving, one frame at
 * a time. Buffers are off-heap and reused: nothing of an image's bytes goes through the Java heap unless the
 * caller's memory is heap memory (an entry image's buffer), which is copied through a native bounce buffer.
 */
public final class FrameChannel implements AutoCloseable {
    /** No frame comes near this (a listing of a snapshot's names is the largest); a longer one is a hostile peer. */
    public static final int MAX_FRAME = 1 << 20;
    /** The most bytes one DATA frame carries; an image is sent in as many pieces as it needs. */
    public static final long MAX_DATA = 16L << 20;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int BOUNCE = 256 << 10;

    private final ByteLink link;
    private final Arena arena = Arena.ofShared();
    private final Object sending = new Object();
    private final Object receiving = new Object();
    private MemorySegment out;
    private MemorySegment in;
    private final MemorySegment bounceOut;
    private final MemorySegment bounceIn;
    private volatile boolean closed;

    public FrameChannel(ByteLink link) {
        this.link = link;
        this.out = arena.allocate(4096, 8);
        this.in = arena.allocate(4096, 8);
        this.bounceOut = arena.allocate(BOUNCE, 4096);
        this.bounceIn = arena.allocate(BOUNCE, 4096);
    }

    /** The peer as messages name it. */
    public String peer() {
        return link.peer();
    }

    public ByteLink link() {
        return link;
    }

    /** Sends one frame (a DATA frame goes with its bytes: {@link #sendData}). */
    public void send(RemoteFrame frame) {
        if (frame.getKind() == Kind.DATA) {
            throw new IllegalArgumentException("a DATA frame goes with its bytes: sendData");
        }
        synchronized (sending) {
            write(frame);
        }
    }

    /** Sends one frame and pushes it: its sender waits for an answer next. */
    public void ask(RemoteFrame frame) {
        synchronized (sending) {
            write(frame);
            link.push();
        }
    }

    /** A DATA frame for {@code bytes} of image {@code name} of {@code snapshot}, then the bytes (heap or native). */
    public void sendData(String snapshot, String name, MemorySegment bytes) {
        if (bytes.byteSize() > MAX_DATA) {
            throw new IllegalArgumentException(bytes.byteSize() + " bytes in one DATA frame, over the " + MAX_DATA + " limit");
        }
        RemoteFrame frame = RemoteFrame.newBuilder().setKind(Kind.DATA).setImage(header(snapshot, name, bytes.byteSize())).build();
        synchronized (sending) {
            write(frame);
            if (bytes.isNative()) {
                link.send(bytes);
            } else {
                for (long done = 0; done < bytes.byteSize(); ) {
                    long n = Math.min(BOUNCE, bytes.byteSize() - done);
                    MemorySegment.copy(bytes, done, bounceOut, 0, n);
                    link.send(bounceOut.asSlice(0, n));
                    done += n;
                }
            }
        }
    }

    /** Whether {@link #sendDataFromPipe} moves bytes without a copy: on a unix socket (to a daemon on this host). */
    public boolean takesPipes() {
        return link instanceof UnixLink;
    }

    /** A DATA frame for {@code n} bytes of image {@code name} of {@code snapshot}, the bytes spliced from {@code pipe}. */
    public void sendDataFromPipe(String snapshot, String name, dev.cryo.syscalls.Fd pipe, long n) {
        if (!(link instanceof UnixLink unix)) {
            throw new UnsupportedOperationException(peer() + " takes no bytes from a pipe");
        }
        synchronized (sending) {
            sendDataHeader(snapshot, name, n);
            unix.sendFromPipe(pipe, n);
        }
    }

    /** A DATA frame announcing {@code size} bytes, whose bytes the caller sends next with {@link #sendRaw} (under {@link #sendLock}). */
    public void sendDataHeader(String snapshot, String name, long size) {
        if (size > MAX_DATA) {
            throw new IllegalArgumentException(size + " bytes in one DATA frame, over the " + MAX_DATA + " limit");
        }
        write(RemoteFrame.newBuilder().setKind(Kind.DATA).setImage(header(snapshot, name, size)).build());
    }

    /** Bytes that a {@link #sendDataHeader} announced (native memory). */
    public void sendRaw(MemorySegment bytes) {
        link.send(bytes);
    }

    /** What a caller holds to send a DATA header and its bytes in pieces, with nothing between them. */
    public Object sendLock() {
        return sending;
    }

    public static ImageHeader header(String snapshot, String name, long size) {
        return ImageHeader.newBuilder().setName(name).setSnapshot(snapshot).setSize(size).build();
    }

    private void write(RemoteFrame frame) {
        int size = frame.getSerializedSize();
        if (size > MAX_FRAME) {
            throw new IllegalArgumentException("a " + frame.getKind() + " frame of " + size + " bytes, over the " + MAX_FRAME + " limit");
        }
        if (out.byteSize() < 4 + size) {
            out = arena.allocate(Math.max(4L + size, out.byteSize() * 2), 8);
        }
        out.set(U32, 0, size);
        ByteBuffer body = out.asSlice(4, size).asByteBuffer();
        try {
            CodedOutputStream coded = CodedOutputStream.newInstance(body);
            frame.writeTo(coded);
            coded.flush();
        } catch (IOException e) {
            throw new IllegalStateException("a frame serialized to another size than it announced", e);
        }
        link.send(out.asSlice(0, 4 + size));
    }

    /** Pushes what was sent (a corked TCP link). */
    public void push() {
        synchronized (sending) {
            link.push();
        }
    }

    /** The next frame, checked; null when the peer ended the stream between frames. */
    public RemoteFrame receive() {
        synchronized (receiving) {
            MemorySegment length = in.asSlice(0, 4);
            long got = recvFully(length);
            if (got == 0) {
                return null;
            }
            if (got < 4) {
                throw new RemoteImageException(peer() + ": the connection ended inside a frame's length");
            }
            long size = Integer.toUnsignedLong(length.get(U32, 0));
            if (size > MAX_FRAME) {
                throw new RemoteImageException(peer() + ": a frame of " + size + " bytes, over the " + MAX_FRAME + "-byte limit");
            }
            if (in.byteSize() < size) {
                in = arena.allocate(Math.max(size, in.byteSize() * 2), 8);
            }
            MemorySegment body = in.asSlice(0, size);
            if (recvFully(body) < size) {
                throw new RemoteImageException(peer() + ": the connection ended inside a frame of " + size + " bytes");
            }
            RemoteFrame frame;
            try {
                frame = RemoteFrame.parseFrom(body.asByteBuffer());
            } catch (InvalidProtocolBufferException e) {
                throw new RemoteImageException(peer() + ": a frame of " + size + " bytes that is no RemoteFrame (" + e.getMessage() + ")", e);
            }
            check(frame);
            return frame;
        }
    }

    /**
     * The next frame, of one of {@code kinds}; a FAILED, REFUSED or MISSING frame not among them throws with
     * the peer's reason, the end of the stream throws saying {@code waitingFor}.
     */
    public RemoteFrame expect(String waitingFor, Kind... kinds) {
        RemoteFrame f = receive();
        if (f == null) {
            throw new RemoteImageException(peer() + " closed the connection while cryo waited for " + waitingFor);
        }
        for (Kind k : kinds) {
            if (f.getKind() == k) {
                return f;
            }
        }
        if (f.getKind() == Kind.FAILED || f.getKind() == Kind.REFUSED || f.getKind() == Kind.MISSING) {
            throw new RemoteImageException(peer() + ": " + f.getText());
        }
        throw new RemoteImageException(peer() + ": a " + f.getKind() + " frame where " + waitingFor + " was due ("
                + Arrays.toString(kinds) + ")");
    }

    /**
     * What to throw for {@code e}, a send that failed: when the peer went away, it may have said why first
     * (a FAILED frame waiting to be read), and that is the better reason.
     */
    public RemoteImageException lastWords(RemoteImageException e) {
        if (!(e.getCause() instanceof dev.cryo.syscalls.ErrnoException errno)
                || !(errno.is(dev.cryo.syscalls.Errno.EPIPE) || errno.is(dev.cryo.syscalls.Errno.ECONNRESET))) {
            return e;
        }
        try {
            for (RemoteFrame f = receive(); f != null; f = receive()) {
                if (f.getKind() == Kind.FAILED || f.getKind() == Kind.REFUSED) {
                    return new RemoteImageException(peer() + ": " + f.getText(), e);
                }
            }
        } catch (RuntimeException ignored) {
            // nothing more to learn
        }
        return e;
    }

    /** Every name a frame carries, checked on every hop: image names as stores check them, snapshot ids as paths. */
    private void check(RemoteFrame f) {
        if (f.hasImage()) {
            ImageHeader h = f.getImage();
            String what = peer() + ": image \"" + ImageNames.printable(h.getName()) + "\" of snapshot \""
                    + Snapshots.printable(h.getSnapshot()) + "\"";
            String bad = ImageNames.problem(h.getName());
            if (bad != null) {
                throw new RemoteImageException(what + ": invalid name: " + bad);
            }
            bad = Snapshots.problem(h.getSnapshot());
            if (bad != null) {
                throw new RemoteImageException(what + ": invalid snapshot id: " + bad);
            }
            if (h.getSize() < 0) {
                throw new RemoteImageException(what + ": a size of " + Long.toUnsignedString(h.getSize()) + " bytes");
            }
            if (f.getKind() == Kind.DATA && h.getSize() > MAX_DATA) {
                throw new RemoteImageException(what + ": a piece of " + h.getSize() + " bytes, over the " + MAX_DATA + "-byte limit");
            }
        } else if (f.getKind() == Kind.DATA || f.getKind() == Kind.END || f.getKind() == Kind.DROP || f.getKind() == Kind.OPEN
                || f.getKind() == Kind.HEADER || f.getKind() == Kind.EXISTS || f.getKind() == Kind.MAP
                || f.getKind() == Kind.MAPPED || f.getKind() == Kind.ANNOUNCE || f.getKind() == Kind.SIZE
                || f.getKind() == Kind.AWAIT) {
            throw new RemoteImageException(peer() + ": a " + f.getKind() + " frame without its image header");
        }
        for (String id : new String[] {f.hasSnapshot() ? f.getSnapshot() : null, f.hasParent() ? f.getParent() : null}) {
            String bad = id == null ? null : Snapshots.problem(id);
            if (bad != null) {
                throw new RemoteImageException(peer() + ": snapshot \"" + Snapshots.printable(id) + "\": invalid snapshot id: " + bad);
            }
        }
        for (String name : f.getNamesList()) {
            String bad = ImageNames.problem(name);
            if (bad != null) {
                throw new RemoteImageException(peer() + ": a listing with image \"" + ImageNames.printable(name) + "\": invalid name: " + bad);
            }
        }
        if (f.getRangesCount() % 2 != 0) {
            throw new RemoteImageException(peer() + ": a " + f.getKind() + " frame with an odd number of range bounds");
        }
        for (int i = 0; i < f.getRangesCount(); i += 2) {
            if (f.getRanges(i) < 0 || f.getRanges(i + 1) < f.getRanges(i)) {
                throw new RemoteImageException(peer() + ": a " + f.getKind() + " frame with the range " + Long.toUnsignedString(f.getRanges(i))
                        + " to " + Long.toUnsignedString(f.getRanges(i + 1)));
            }
        }
        if (f.hasCount() && (f.getCount() < 0 || f.getCount() > (1L << 50))) {
            throw new RemoteImageException(peer() + ": a " + f.getKind() + " of " + Long.toUnsignedString(f.getCount()) + " bytes");
        }
        if (f.hasText() && f.getText().length() > 4096) {
            throw new RemoteImageException(peer() + ": a " + f.getKind() + " frame with " + f.getText().length() + " characters of text");
        }
    }

    /**
     * The bytes of a DATA frame, {@code into.byteSize()} of them (heap or native memory): a stream that ends
     * first is an image cut in the middle.
     */
    public void receivePayload(MemorySegment into, ImageHeader about) {
        synchronized (receiving) {
            long got;
            if (into.isNative()) {
                got = recvFully(into);
            } else {
                got = 0;
                while (got < into.byteSize()) {
                    long n = recvFully(bounceIn.asSlice(0, Math.min(BOUNCE, into.byteSize() - got)));
                    MemorySegment.copy(bounceIn, 0, into, got, n);
                    got += n;
                    if (n == 0) {
                        break;
                    }
                }
            }
            if (got < into.byteSize()) {
                throw cut(about, got);
            }
        }
    }

    /** Reads and drops {@code n} bytes of a DATA frame. */
    public void discardPayload(long n, ImageHeader about) {
        synchronized (receiving) {
            long got = 0;
            while (got < n) {
                long r = link.recv(bounceIn.asSlice(0, Math.min(BOUNCE, n - got)));
                if (r == 0) {
                    throw cut(about, got);
                }
                got += r;
            }
        }
    }

    /** The error of a DATA frame's bytes that end {@code got} bytes in: the stream was cut. */
    public RemoteImageException cut(ImageHeader about, long got) {
        return new RemoteImageException(peer() + ": the connection was cut " + got + " bytes into a piece of " + about.getSize()
                + " bytes of " + about.getName() + " of " + about.getSnapshot());
    }

    private long recvFully(MemorySegment into) {
        long done = 0;
        while (done < into.byteSize()) {
            long n = link.recv(into.asSlice(done));
            if (n == 0) {
                break;
            }
            done += n;
        }
        return done;
    }

    /** Ends a receive blocked in another thread; nothing once closed. */
    public void shutdown() {
        if (!closed) {
            try {
                link.shutdown();
            } catch (RuntimeException gone) {
                // closed by its owner meanwhile
            }
        }
    }

    /**
     * Gives up with a FAILED frame saying {@code why}: sent, this side's stream ended, what the peer still sends
     * read for a while (so that the frame is not lost to a reset), then closed.
     */
    public void fail(String why) {
        synchronized (sending) {
            synchronized (receiving) {
                if (closed) {
                    return;
                }
                closed = true;
                try (arena) {
                    try {
                        write(RemoteFrame.newBuilder().setKind(Kind.FAILED).setText(why.length() > 4000 ? why.substring(0, 4000) : why).build());
                        link.push();
                    } catch (RuntimeException gone) {
                        // the peer went first
                    }
                    link.finish(java.time.Duration.ofSeconds(2));
                }
            }
        }
    }

    /** Ends this side's stream after what was sent, reads what the peer still sends for at most {@code limit}, and closes. */
    public void finish(java.time.Duration limit) {
        synchronized (sending) {
            synchronized (receiving) {
                if (closed) {
                    return;
                }
                closed = true;
                try (arena) {
                    link.push();
                    link.finish(limit);
                }
            }
        }
    }

    /**
     * Closes the link and frees the buffers, once no other thread sends or receives (the buffers' addresses are
     * in the kernel's hands during a call): a thread that may be blocked in {@link #receive} is ended first with
     * {@link #shutdown}.
     */
    @Override
    public void close() {
        synchronized (sending) {
            synchronized (receiving) {
                if (closed) {
                    return;
                }
                closed = true;
                try (arena) {
                    link.close();
                }
            }
        }
    }
}
