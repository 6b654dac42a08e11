package dev.cryo.migrate.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.function.Consumer;

import dev.cryo.images.remote.FrameChannel;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.proto.RemoteFrame;
import dev.cryo.images.remote.proto.RemoteFrame.Kind;
import dev.cryo.syscalls.Io;

/**
 * The image proxy's connections from cryo: questions and reads answered from what it keeps, and one step at a
 * time writing through it to the cache ({@link WriterSession}). Once the migration's last dump is complete and
 * its cryo has gone, the cache hears BYE and the proxy's work is done; a lost link to the cache ends it too.
 */
public final class ProxySteps implements AutoCloseable {
    private final FrameChannel link;
    private final Holdings holdings;
    private final Consumer<String> log;
    private final Consumer<RuntimeException> finished;
    private final MemorySegment relay;
    /** Where pages pass from the dump's socket to a plain TCP link without being copied to the proxy (null: TLS). */
    private final Io.Pipe splice;
    /** How long a claim waits for the step before it to stop writing. */
    private static final Duration SLOT_WAIT = Duration.ofSeconds(5);

    private final Object writer = new Object();
    private String writing;
    private int completed;

    /** {@code finished} hears the end: null when the migration is done, else the link's failure. */
    public ProxySteps(FrameChannel link, Holdings holdings, Consumer<String> log, Arena arena, Consumer<RuntimeException> finished) {
        this.link = link;
        this.holdings = holdings;
        this.log = log;
        this.finished = finished;
        this.relay = arena.allocate(WriterSession.RELAY, 4096);
        this.splice = link.link() instanceof TcpLink t && t.splices() ? WriterSession.splicePipe() : null;
    }

    /** Serves one connection from cryo, to its end. */
    public void serve(FrameChannel ch) {
        new LocalSession(ch, holdings, this::step, log).run();
    }

    private void step(LocalSession questions, FrameChannel ch, RemoteFrame claim) {
        synchronized (writer) {
            // a step whose cryo was just killed may take the proxy a moment to notice: give it that moment
            long deadline = System.nanoTime() + SLOT_WAIT.toNanos();
            while (writing != null && System.nanoTime() < deadline) {
                try {
                    writer.wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            if (writing != null) {
                ch.fail("snapshot " + writing + " is being written through this image proxy now; one step at a time");
                return;
            }
            writing = claim.getSnapshot();
        }
        String id = claim.getSnapshot();
        try {
            boolean complete = new WriterSession(ch, link, holdings, log, relay, splice, () -> release(id)).serve(claim, questions);
            if (complete) {
                synchronized (writer) {
                    completed++;
                }
                if (claim.getLast()) {
                    bye();
                }
            }
        } catch (WriterSession.LinkLost e) {
            log.accept(e.getMessage());
            finished.accept(new RemoteImageException(e.getMessage(), e.getCause()));
        } finally {
            release(id);
        }
    }

    /** Step {@code id} no longer writes (complete, or ended): the next may claim. */
    private void release(String id) {
        synchronized (writer) {
            if (id.equals(writing)) {
                writing = null;
                writer.notifyAll();
            }
        }
    }

    /** The last dump is complete and its cryo gone: the cache hears that nothing more comes. */
    private void bye() {
        try {
            link.ask(RemoteFrame.newBuilder().setKind(Kind.BYE).build());
            link.finish(Duration.ofSeconds(10));
            log.accept("the migration's last step is complete in " + link.peer());
            finished.accept(null);
        } catch (RemoteImageException e) {
            finished.accept(e);
        }
    }

    public int completed() {
        synchronized (writer) {
            return completed;
        }
    }

    @Override
    public void close() {
        link.shutdown();
    }

    /** Frees the splice pipe, once no step runs any more (the daemon has stopped). */
    public void free() {
        if (splice != null) {
            splice.close();
        }
    }
}
