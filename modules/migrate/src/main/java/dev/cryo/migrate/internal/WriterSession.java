package dev.cryo.migrate.internal;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

import dev.cryo.images.remote.FrameChannel;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.UnixLink;
import dev.cryo.images.remote.proto.ImageHeader;
import dev.cryo.images.remote.proto.RemoteFrame;
import dev.cryo.images.remote.proto.RemoteFrame.Kind;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * The image proxy's side of one step (a dump or pre-dump with {@code --remote}): its claim, then every image
 * passed on to the image cache as it comes (each piece's header then its bytes, relayed through a buffer, or
 * through the memory that keeps it when the proxy keeps the image for the next step), its completion
 * answered once the cache confirms it. A step that ends without completing (its cryo failed, was killed, or
 * broke a rule) is aborted in the proxy and in the cache: nothing of it stays that a restore could take for
 * complete. A connection cut inside a piece is padded to the piece's announced size on the link, so that the
 * link stays in step for the steps after it.
 */
final class WriterSession {
    /** The link to the cache failed: the migration cannot go on. */
    static final class LinkLost extends RuntimeException {
        private static final long serialVersionUID = 1L;

        LinkLost(RemoteImageException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /** The relay buffer's size: what passes from the dump's socket to the cache's at a time. */
    static final long RELAY = 1 << 20;

    private final FrameChannel local;
    private final FrameChannel link;
    private final Holdings holdings;
    private final Consumer<String> log;
    private final MemorySegment relay;
    private final Io.Pipe splice;
    private final Runnable writes;

    /**
     * {@code writes} runs once the step writes no more (the cache confirmed it, or it was aborted), before its
     * connection is wound down: the next step may claim at once.
     */
    WriterSession(FrameChannel local, FrameChannel link, Holdings holdings, Consumer<String> log, MemorySegment relay,
                  Io.Pipe splice, Runnable writes) {
        this.local = local;
        this.link = link;
        this.holdings = holdings;
        this.log = log;
        this.relay = relay;
        this.splice = splice;
        this.writes = writes;
    }

    /** Serves the step that {@code claim} starts; returns whether it completed. Throws {@link LinkLost}. */
    boolean serve(RemoteFrame claim, LocalSession questions) {
        String id = claim.getSnapshot();
        String parent = claim.hasParent() ? claim.getParent() : null;
        String refusal = holdings.claim(id, parent, claim.getLast());
        if (refusal != null) {
            log.accept(local.peer() + ": claim of " + id + " refused: " + refusal);
            local.ask(RemoteFrame.newBuilder().setKind(Kind.REFUSED).setText(refusal).build());
            local.close();
            return false;
        }
        boolean complete = false;
        try {
            RemoteFrame answer = toCache(() -> {
                link.ask(claim);
                return link.expect("its answer to the claim of " + id, Kind.ACCEPTED, Kind.REFUSED);
            });
            if (answer.getKind() == Kind.REFUSED) {
                String why = link.peer() + ": " + answer.getText();
                log.accept(local.peer() + ": claim of " + id + " refused by " + why);
                local.ask(RemoteFrame.newBuilder().setKind(Kind.REFUSED).setText(why).build());
                local.close();
                holdings.abort(id);
                return false;
            }
            log.accept(local.peer() + " writes snapshot " + id + (parent == null ? "" : " on " + parent) + (claim.getLast() ? " (the last)" : ""));
            local.ask(RemoteFrame.newBuilder().setKind(Kind.ACCEPTED).build());
            while (true) {
                RemoteFrame f = local.receive();
                if (f == null) {
                    break;
                }
                boolean writing = switch (f.getKind()) {
                    case ANNOUNCE, DATA, END, DROP, COMPLETE, ABORT -> true;
                    default -> false;
                };
                String target = f.hasImage() ? f.getImage().getSnapshot() : f.getSnapshot();
                if (writing && !id.equals(target)) {
                    throw new Holdings.Violation("a " + f.getKind() + " frame for snapshot " + target + " on the connection that writes " + id);
                }
                if (writing && complete && f.getKind() != Kind.ABORT) {
                    throw new Holdings.Violation("a " + f.getKind() + " frame for snapshot " + id + " after its completion");
                }
                switch (f.getKind()) {
                    case ANNOUNCE -> {
                        holdings.announce(id, f.getImage().getName(), f.getImage().getSize());
                        toCache(() -> {
                            link.ask(f); // pushed: a restore may be waiting to learn the image's size
                            return null;
                        });
                    }
                    case DATA -> relay(f.getImage());
                    case END -> {
                        holdings.end(id, f.getImage().getName(), f.getImage().getSize());
                        toCache(() -> {
                            link.ask(f); // pushed: a restore may be waiting for this image
                            return null;
                        });
                    }
                    case DROP -> {
                        holdings.drop(id, f.getImage().getName());
                        toCache(() -> {
                            link.send(f);
                            return null;
                        });
                    }
                    case COMPLETE -> {
                        holdings.complete(id);
                        toCache(() -> {
                            link.ask(f);
                            return link.expect("its word that it holds every image of " + id, Kind.COMPLETED);
                        });
                        complete = true;
                        log.accept("snapshot " + id + " complete in " + link.peer());
                        writes.run();
                        local.ask(RemoteFrame.newBuilder().setKind(Kind.COMPLETED).setSnapshot(id).build());
                    }
                    case ABORT -> {
                        log.accept(local.peer() + " aborts snapshot " + id);
                        complete = false;
                        abort(id);
                    }
                    case EXISTS, LIST, PARENT, OPEN, READ, SKIP -> {
                        if (!questions.answer(f)) {
                            if (!complete) {
                                abort(id);
                            }
                            return complete;
                        }
                    }
                    default -> throw new Holdings.Violation("a " + f.getKind() + " frame while it writes snapshot " + id);
                }
            }
            local.close();
            if (!complete) {
                log.accept(local.peer() + " ended before snapshot " + id + " was complete: aborted");
                abort(id);
            }
            return complete;
        } catch (Holdings.Violation v) {
            // a step that the cache confirmed stays: only its own ABORT takes it back
            String why = local.peer() + ": " + v.getMessage();
            log.accept(why);
            if (!complete) {
                abort(id);
            }
            local.fail(why);
            return complete;
        } catch (LinkLost e) {
            local.fail(e.getMessage());
            throw e;
        } catch (RemoteImageException e) {
            // the dump's connection: cut, or a frame that is no frame
            log.accept(e.getMessage());
            if (!complete) {
                abort(id);
            }
            local.fail(e.getMessage());
            return complete;
        }
    }

    /** A pipe for {@link #relay} to splice through, as large as the relay buffer. */
    static Io.Pipe splicePipe() {
        Io.Pipe p = Io.pipe(0);
        try {
            Io.fcntl(p.write().fd(), Kernel.F_SETPIPE_SZ, RELAY);
        } catch (ErrnoException small) {
            // the default size (64 KiB) splices too, in smaller pieces
        }
        return p;
    }

    /**
     * The bytes of a DATA frame, to the cache as they come; kept too when the next step may read the image. Pages
     * (which the proxy does not keep) go through a pipe on a plain link: spliced from the dump's socket and onto
     * the cache's, never copied into the proxy.
     */
    private void relay(ImageHeader h) {
        Holdings.Image image = holdings.incoming(h.getSnapshot(), h.getName(), h.getSize());
        synchronized (link.sendLock()) {
            toCache(() -> {
                link.sendDataHeader(h.getSnapshot(), h.getName(), h.getSize());
                return null;
            });
            long left = h.getSize();
            try {
                if (image.bytes == null && splice != null && local.link() instanceof UnixLink from
                        && link.link() instanceof TcpLink to) {
                    while (left > 0) {
                        long n = spliceIn(from, Math.min(RELAY, left), h, h.getSize() - left);
                        toCache(() -> {
                            to.sendFromPipe(splice.read(), n);
                            return null;
                        });
                        holdings.received(image, n);
                        left -= n;
                    }
                }
                while (left > 0) {
                    MemorySegment buf = image.bytes != null ? image.bytes.tail(left) : relay.asSlice(0, Math.min(RELAY, left));
                    local.receivePayload(buf, h);
                    toCache(() -> {
                        link.sendRaw(buf);
                        return null;
                    });
                    holdings.received(image, buf.byteSize());
                    left -= buf.byteSize();
                }
            } catch (RemoteImageException cut) {
                // the piece was announced to the cache: its size in zeros keeps the link in step; the abort drops them
                relay.fill((byte) 0);
                for (long pad = left; pad > 0; ) {
                    long n = Math.min(RELAY, pad);
                    toCache(() -> {
                        link.sendRaw(relay.asSlice(0, n));
                        return null;
                    });
                    pad -= n;
                }
                throw cut;
            }
        }
    }

    /** Up to {@code max} bytes from the dump's socket into the splice pipe; a stream that ends first is a cut. */
    private long spliceIn(UnixLink from, long max, ImageHeader h, long got) {
        while (true) {
            try {
                long n = Io.splice(from.socket().fd().fd(), splice.write().fd(), max,
                        Kernel.SPLICE_F_MOVE | Kernel.SPLICE_F_MORE);
                if (n == 0) {
                    throw new RemoteImageException(local.peer() + ": the connection was cut " + got + " bytes into a piece of "
                            + h.getSize() + " bytes of " + h.getName() + " of " + h.getSnapshot());
                }
                return n;
            } catch (ErrnoException e) {
                if (!e.is(Errno.EINTR)) {
                    throw new RemoteImageException(local.peer() + ": the connection is lost: " + e.reason(), e);
                }
            }
        }
    }

    private void abort(String id) {
        holdings.abort(id);
        try {
            toCache(() -> {
                link.ask(RemoteFrame.newBuilder().setKind(Kind.ABORT).setSnapshot(id).build());
                return null;
            });
        } finally {
            writes.run();
        }
    }

    private interface LinkCall<T> {
        T call();
    }

    /** A call on the link to the cache, whose failure is the migration's. */
    private static <T> T toCache(LinkCall<T> call) {
        try {
            return call.call();
        } catch (RemoteImageException e) {
            throw new LinkLost(e);
        }
    }
}
