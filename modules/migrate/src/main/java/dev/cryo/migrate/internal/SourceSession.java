package dev.cryo.migrate.internal;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

import dev.cryo.images.remote.FrameChannel;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.proto.ImageHeader;
import dev.cryo.images.remote.proto.RemoteFrame;
import dev.cryo.images.remote.proto.RemoteFrame.Kind;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Io;

/**
 * The image cache's side of the one TCP connection from the image proxy: every step's images into the
 * {@link Holdings}, each byte received straight into the memory that keeps it. A claim is answered ACCEPTED
 * or REFUSED, a completion COMPLETED once the snapshot is checked and deduplicated. A proxy that breaks a rule
 * (an image name with '/' or "..", a piece over the limit, a closing mark that does not account for the bytes
 * sent, bytes for a snapshot not claimed) is told why in a FAILED frame, and the migration's source has ended:
 * what was not complete never will be, and readers waiting for it are told so.
 */
public final class SourceSession implements Runnable {
    private static final long PIPE = WriterSession.RELAY;

    private final FrameChannel link;
    private final Holdings holdings;
    private final Consumer<String> log;
    /** The pipe that a plain link's pages images go through, or null (TLS: received into their chunks). */
    private final Io.Pipe pipe;

    /** A pipe for a session on {@code link} to receive through: null when its bytes cannot be spliced (TLS). */
    public static Io.Pipe pipeFor(FrameChannel link) {
        return link.link() instanceof TcpLink t && t.splices() ? WriterSession.splicePipe() : null;
    }

    /** {@code pipe}: owned by the caller, used on a plain TCP link; null to receive every byte into memory. */
    public SourceSession(FrameChannel link, Holdings holdings, Io.Pipe pipe, Consumer<String> log) {
        this.link = link;
        this.holdings = holdings;
        this.pipe = pipe;
        this.log = log;
    }

    @Override
    public void run() {
        holdings.connected(link.peer());
        log.accept(link.peer() + " connected");
        boolean bye = false;
        try {
            for (RemoteFrame f = link.receive(); f != null; f = link.receive()) {
                if (bye) {
                    throw new Holdings.Violation("a " + f.getKind() + " frame after BYE");
                }
                switch (f.getKind()) {
                    case CLAIM -> {
                        String refusal = holdings.claim(f.getSnapshot(), f.hasParent() ? f.getParent() : null, f.getLast());
                        log.accept("claim of snapshot " + f.getSnapshot() + (f.hasParent() ? " on " + f.getParent() : "")
                                + (f.getLast() ? " (the last)" : "") + (refusal == null ? ": accepted" : ": refused: " + refusal));
                        link.ask(refusal == null ? RemoteFrame.newBuilder().setKind(Kind.ACCEPTED).build()
                                : RemoteFrame.newBuilder().setKind(Kind.REFUSED).setText(refusal).build());
                    }
                    case ANNOUNCE -> holdings.announce(f.getImage().getSnapshot(), f.getImage().getName(), f.getImage().getSize());
                    case DATA -> receive(f.getImage());
                    case END -> holdings.end(f.getImage().getSnapshot(), f.getImage().getName(), f.getImage().getSize());
                    case DROP -> holdings.drop(f.getImage().getSnapshot(), f.getImage().getName());
                    case ABORT -> {
                        log.accept("snapshot " + f.getSnapshot() + " aborted");
                        holdings.abort(f.getSnapshot());
                    }
                    case COMPLETE -> {
                        holdings.complete(f.getSnapshot());
                        Holdings.Figures h = holdings.figures();
                        log.accept(String.format("snapshot %s complete; %.1f MiB held (%.1f MiB released by deduplication)",
                                f.getSnapshot(), h.heldBytes() / 1048576.0, h.releasedBytes() / 1048576.0));
                        link.ask(RemoteFrame.newBuilder().setKind(Kind.COMPLETED).setSnapshot(f.getSnapshot()).build());
                    }
                    case BYE -> {
                        bye = true;
                        holdings.sourceEnded("its last dump is complete", true);
                        log.accept(link.peer() + ": the migration's last step is complete");
                    }
                    default -> throw new Holdings.Violation("a " + f.getKind() + " frame, which the image cache does not take from the image proxy");
                }
            }
            if (!bye) {
                holdings.sourceEnded(link.peer() + " closed the connection", false);
                log.accept(link.peer() + " closed the connection before the migration's end");
            }
            link.close();
        } catch (Holdings.Violation v) {
            String why = link.peer() + ": " + v.getMessage();
            log.accept(why);
            holdings.sourceEnded(why, false);
            link.fail(why);
        } catch (RemoteImageException e) {
            log.accept(e.getMessage());
            holdings.sourceEnded(e.getMessage(), false);
            link.fail(e.getMessage());
        }
    }

    /**
     * The bytes of a DATA frame, straight into the memory that keeps them: a pages image's memfd by splice(2)
     * from a plain link (the socket's pages into a pipe, the pipe's into the file), anything else received
     * into its chunk.
     */
    private void receive(ImageHeader h) {
        Holdings.Image image = holdings.incoming(h.getSnapshot(), h.getName(), h.getSize());
        for (long left = h.getSize(); left > 0; ) {
            MemorySegment into = image.bytes.tail(left);
            if (pipe != null && image.bytes.inFile() && link.link() instanceof TcpLink tcp) {
                for (long done = 0; done < into.byteSize(); ) {
                    long n = tcp.recvToPipe(pipe.write(), Math.min(PIPE, into.byteSize() - done));
                    if (n == 0) {
                        throw link.cut(h, h.getSize() - left + done);
                    }
                    try {
                        image.bytes.appendFromPipe(pipe.read(), done, n);
                    } catch (ErrnoException e) {
                        throw new RemoteImageException("the image cache could not keep " + h.getName() + " of " + h.getSnapshot()
                                + ": " + e.getMessage(), e);
                    }
                    done += n;
                }
            } else {
                link.receivePayload(into, h);
            }
            holdings.received(image, into.byteSize());
            left -= into.byteSize();
        }
    }
}
