package dev.cryo.migrate.internal;

import java.util.function.Consumer;

import dev.cryo.syscalls.Fd;

import dev.cryo.images.remote.FrameChannel;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.UnixLink;
import dev.cryo.images.remote.proto.ImageHeader;
import dev.cryo.images.remote.proto.RemoteFrame;
import dev.cryo.images.remote.proto.RemoteFrame.Kind;

/**
 * One cryo connection to a daemon's local socket: reads of images (OPEN, then READ and SKIP), questions
 * (EXISTS, LIST, PARENT) and a restore's DONE, answered from the {@link Holdings}; in the proxy a CLAIM hands
 * the connection to the step that writes through it. Anything else, or a read past an image's end, ends the
 * connection with a FAILED frame saying why.
 */
public final class LocalSession implements Runnable {
    /** The proxy's writer: takes the connection over at its CLAIM. */
    public interface Claims {
        void serve(LocalSession session, FrameChannel ch, RemoteFrame claim);
    }

    private final FrameChannel ch;
    private final Holdings holdings;
    private final Claims claims;
    private final Consumer<String> log;
    private Holdings.Image open;
    private String openSnapshot;
    private long cursor;

    public LocalSession(FrameChannel ch, Holdings holdings, Claims claims, Consumer<String> log) {
        this.ch = ch;
        this.holdings = holdings;
        this.claims = claims;
        this.log = log;
    }

    @Override
    public void run() {
        try {
            for (RemoteFrame f = ch.receive(); f != null; f = ch.receive()) {
                if (f.getKind() == Kind.CLAIM && claims != null) {
                    claims.serve(this, ch, f);
                    return;
                }
                if (!answer(f)) {
                    return;
                }
            }
            ch.close();
        } catch (RemoteImageException e) {
            log.accept(e.getMessage());
            ch.fail(e.getMessage());
        } catch (RuntimeException e) {
            log.accept(ch.peer() + ": " + e);
            ch.fail("internal error of the " + holdings.role() + ": " + e);
        }
    }

    /** Answers one frame; false when the connection ended (a FAILED frame sent). */
    boolean answer(RemoteFrame f) {
        try {
            switch (f.getKind()) {
                case OPEN -> {
                    ImageHeader h = f.getImage();
                    open = holdings.image(h.getSnapshot(), h.getName());
                    openSnapshot = h.getSnapshot();
                    cursor = 0;
                    ch.ask(RemoteFrame.newBuilder().setKind(Kind.HEADER)
                            .setImage(FrameChannel.header(h.getSnapshot(), h.getName(), open.size)).build());
                }
                case READ -> {
                    return read(f.getCount());
                }
                case MAP -> {
                    return map(f);
                }
                case SKIP -> {
                    if (open == null || f.getCount() > open.size - cursor) {
                        return failed("a skip of " + f.getCount() + " bytes " + where());
                    }
                    cursor += f.getCount();
                }
                case SIZE -> {
                    ImageHeader h = f.getImage();
                    long size = holdings.size(h.getSnapshot(), h.getName());
                    ch.ask(RemoteFrame.newBuilder().setKind(Kind.HEADER)
                            .setImage(FrameChannel.header(h.getSnapshot(), h.getName(), size)).build());
                }
                case AWAIT -> {
                    ImageHeader h = f.getImage();
                    long there = holdings.awaitBytes(h.getSnapshot(), h.getName(), f.getCount());
                    ch.ask(RemoteFrame.newBuilder().setKind(Kind.HEADER)
                            .setImage(FrameChannel.header(h.getSnapshot(), h.getName(), there)).build());
                }
                case COMPLETE -> {
                    // a reader's question (a restore that began while the images travelled): is the dump done?
                    holdings.awaitComplete(f.getSnapshot());
                    ch.ask(RemoteFrame.newBuilder().setKind(Kind.COMPLETED).setSnapshot(f.getSnapshot()).build());
                }
                case EXISTS -> {
                    ImageHeader h = f.getImage();
                    boolean there = holdings.exists(h.getSnapshot(), h.getName());
                    ch.ask(RemoteFrame.newBuilder().setKind(there ? Kind.PRESENT : Kind.MISSING)
                            .setText(there ? "" : h.getName() + " is not in snapshot " + h.getSnapshot()).build());
                }
                case LIST -> ch.ask(RemoteFrame.newBuilder().setKind(Kind.LISTING)
                        .addAllNames(holdings.list(f.getSnapshot())).build());
                case PARENT -> {
                    String parent = holdings.parent(f.getSnapshot());
                    RemoteFrame.Builder b = RemoteFrame.newBuilder().setKind(Kind.LISTING);
                    if (parent != null) {
                        b.setParent(parent);
                    }
                    ch.ask(b.build());
                }
                case DONE -> {
                    log.accept(ch.peer() + " restored snapshot " + f.getSnapshot());
                    holdings.done(f.getSnapshot());
                }
                default -> {
                    return failed("a " + f.getKind() + " frame, which the " + holdings.role() + " does not take from cryo"
                            + (f.getKind() == Kind.CLAIM ? " (a dump writes through the image proxy)" : ""));
                }
            }
            return true;
        } catch (Holdings.Refused r) {
            if (!r.missing) {
                ch.fail(r.getMessage());
                return false;
            }
            ch.ask(RemoteFrame.newBuilder().setKind(Kind.MISSING).setText(r.getMessage()).build());
            return true;
        }
    }

    private boolean read(long n) {
        if (open == null || n > open.size - cursor) {
            return failed("a read of " + n + " bytes " + where());
        }
        if (n > FrameChannel.MAX_DATA) {
            return failed("a read of " + n + " bytes, over the " + FrameChannel.MAX_DATA + "-byte limit of one piece");
        }
        long from = cursor;
        boolean sent;
        synchronized (ch.sendLock()) {
            sent = open.bytes.forEachSlice(from, n, () -> ch.sendDataHeader(openSnapshot, open.name, n), ch::sendRaw);
        }
        if (!sent) {
            return failed("bytes " + from + " to " + (from + n) + " of " + open.name + " of " + openSnapshot
                    + " are no longer held: a later snapshot of the chain holds those pages (deduplicated), or the image was dropped");
        }
        cursor += n;
        return true;
    }

    /**
     * A restore's MAP: the image's memfd, read-only, once the chain is settled and if no byte of the ranges it
     * will read was released; MISSING (it reads the image as a stream then) when the image is not in a file or
     * the chain never settles.
     */
    private boolean map(RemoteFrame f) {
        ImageHeader h = f.getImage();
        long[] size = new long[2]; // the image's, and the bytes there now
        Holdings.Image image = holdings.mappable(h.getSnapshot(), h.getName(), size);
        if (size[0] == 0 || !holdings.awaitSettled(h.getSnapshot()) || !(ch.link() instanceof UnixLink unix)) {
            ch.ask(RemoteFrame.newBuilder().setKind(Kind.MISSING).setText(h.getName() + " of " + h.getSnapshot() + " is not mapped").build());
            return true;
        }
        for (int i = 0; i < f.getRangesCount(); i += 2) {
            long from = f.getRanges(i);
            long to = f.getRanges(i + 1);
            if (to > size[0]) {
                return failed("the mapping of bytes " + from + " to " + to + " of " + h.getName() + " of " + h.getSnapshot()
                        + ", which has " + size[0] + " bytes");
            }
            if (image.bytes.touchesReleased(from, to)) {
                return failed("the mapping of bytes " + from + " to " + to + " of " + h.getName() + " of " + h.getSnapshot()
                        + ", which are no longer held: a later snapshot of the chain holds those pages (deduplicated), or the image was dropped");
            }
        }
        try (Fd file = image.bytes.readOnlyFile()) {
            if (file == null) {
                ch.ask(RemoteFrame.newBuilder().setKind(Kind.MISSING).setText(h.getName() + " of " + h.getSnapshot() + " is not mapped").build());
                return true;
            }
            synchronized (ch.sendLock()) {
                RemoteFrame.Builder mapped = RemoteFrame.newBuilder().setKind(Kind.MAPPED)
                        .setImage(FrameChannel.header(h.getSnapshot(), h.getName(), size[0]));
                if (size[1] < size[0]) {
                    mapped.setCount(size[1]); // still arriving: the reader waits for what it reads (AWAIT)
                }
                ch.ask(mapped.build());
                unix.sendFd(file);
            }
        }
        return true;
    }

    private String where() {
        return open == null ? "with no image open" : "at offset " + cursor + " of " + open.name + " of " + openSnapshot
                + ", which has " + open.size + " bytes";
    }

    private boolean failed(String why) {
        String text = ch.peer() + " asked " + why;
        log.accept(text);
        ch.fail(text);
        return false;
    }
}
