package dev.cryo.migrate.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import com.google.protobuf.InvalidProtocolBufferException;

import dev.cryo.migrate.MigrationException;
import dev.cryo.migrate.proto.Control;
import dev.cryo.migrate.proto.Failed;
import dev.cryo.pagexfer.TcpStream;
import dev.cryo.syscalls.CryoFailure;

/**
 * The control connection of a live migration: each message a 4-byte big-endian length (at most
 * {@value #MAX_MESSAGE}) then one {@link Control}. What the peer sends is checked before it is believed: a length
 * out of bounds, bytes that do not parse, a message of no known kind or of another kind than the step awaits each
 * end the migration with one line naming the peer; a {@link Failed} from it is its own one line.
 */
public final class ControlChannel implements AutoCloseable {
    /** Control messages are a few dozen bytes; this bounds what a hostile peer can make us allocate. */
    public static final int MAX_MESSAGE = 65536;
    private static final ValueLayout.OfInt LENGTH = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final TcpStream stream;
    private final String peer;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer = arena.allocate(4 + MAX_MESSAGE);
    /** Apart from the receiving buffer: a thread may send while another waits for an answer. */
    private final MemorySegment sending = arena.allocate(4 + MAX_MESSAGE);

    /** {@code role}: what the peer is, e.g. {@code "migration server"}. */
    public ControlChannel(TcpStream stream, String role) {
        this.stream = stream;
        this.peer = "the " + role + " at " + stream.peer();
    }

    /** "the migration server at 10.0.0.1:27000". */
    public String peer() {
        return peer;
    }

    public synchronized void send(Control message) {
        byte[] bytes = message.toByteArray();
        MemorySegment frame = sending.asSlice(0, 4 + bytes.length);
        frame.set(LENGTH, 0, bytes.length);
        MemorySegment.copy(bytes, 0, frame, ValueLayout.JAVA_BYTE, 4, bytes.length);
        try {
            stream.send(frame);
            stream.push();
        } catch (CryoFailure e) {
            throw new MigrationException(peer + ": " + withoutPeer(e.getMessage()), e);
        }
    }

    /** Tells the peer why this side gives up, if it still listens; never fails. */
    public void fail(String why) {
        try {
            send(Control.newBuilder().setFailed(Failed.newBuilder().setMessage(why)).build());
        } catch (MigrationException gone) {
            // the peer is gone: it learns from the lost connection
        }
    }

    /**
     * The next message, which must be of kind {@code expected} (during {@code step}, for the error); a
     * {@link Failed} from the peer becomes its message.
     */
    public Control expect(Control.MessageCase expected, String step) {
        Control c = receive(step);
        if (c.getMessageCase() == Control.MessageCase.FAILED) {
            throw new MigrationException(peer + " gave up " + step + ": " + oneLine(c.getFailed().getMessage()));
        }
        if (c.getMessageCase() != expected) {
            throw new MigrationException(peer + " sent " + name(c.getMessageCase()) + " " + step + ", where "
                    + name(expected) + " was due");
        }
        return c;
    }

    /** The next message, of any known kind. */
    public Control receive(String step) {
        readFully(buffer.asSlice(0, 4), step);
        int length = buffer.get(LENGTH, 0);
        if (length < 0 || length > MAX_MESSAGE) {
            throw new MigrationException(peer + " sent a control message of " + Integer.toUnsignedString(length) + " bytes "
                    + step + " (at most " + MAX_MESSAGE + "): not cryo's migration protocol");
        }
        MemorySegment body = buffer.asSlice(4, length);
        readFully(body, step);
        Control c;
        try {
            c = Control.parseFrom(body.asByteBuffer());
        } catch (InvalidProtocolBufferException e) {
            throw new MigrationException(peer + " sent a malformed control message of " + length + " bytes " + step + ": "
                    + e.getMessage());
        }
        if (c.getMessageCase() == Control.MessageCase.MESSAGE_NOT_SET) {
            throw new MigrationException(peer + " sent a control message of no known kind " + step);
        }
        return c;
    }

    private void readFully(MemorySegment into, String step) {
        long done = 0;
        while (done < into.byteSize()) {
            long n;
            try {
                n = stream.recv(into.asSlice(done));
            } catch (CryoFailure e) {
                throw new MigrationException(peer + ": " + withoutPeer(e.getMessage()) + " (" + step + ")", e);
            }
            if (n <= 0) {
                throw new MigrationException(peer + " closed the connection " + step);
            }
            done += n;
        }
    }

    /**
     * The stream's own message without the peer's address it begins with (named already); a receive timeout
     * (SO_RCVTIMEO, EAGAIN) said as the silence it is.
     */
    private String withoutPeer(String m) {
        String s = m.startsWith(stream.peer() + ": ") ? m.substring(stream.peer().length() + 2) : m;
        return s.contains("(EAGAIN)") ? "said nothing for too long, taken for gone (" + s + ")" : s;
    }

    /** A peer's text in one line of bounded length. */
    public static String oneLine(String s) {
        String line = s.replaceAll("[\\p{Cntrl}]", " ").strip();
        return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }

    private static String name(Control.MessageCase c) {
        return c.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Ends a receive blocked in another thread. */
    public void shutdown() {
        stream.shutdown();
    }

    @Override
    public void close() {
        stream.close();
        arena.close();
    }
}
