package dev.cryo.images;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads one image of entries, checking everything against the image's size
 * before trusting it: a corrupt, truncated or hostile image fails with an
 * {@link ImageFormatException} naming the file and offset, never with an
 * OutOfMemoryError or a wrong answer.
 *
 * <pre>{@code
 * try (EntryReader r = store.openReader(ImageKind.PAGEMAP, pid)) {
 *     PagemapHead head = r.next(PagemapHead.parser());
 *     for (PagemapEntry e; (e = r.next(PagemapEntry.parser())) != null; ) { ... }
 * }
 * }</pre>
 */
public final class EntryReader implements AutoCloseable {
    /** No CRIU entry comes near this; a larger size means a corrupt image. */
    public static final int MAX_ENTRY = 64 << 20;

    private static final int BUFFER = 64 * 1024;

    private final ImageKind kind;
    private final RawReader in;
    private final long size;
    // buffer holds image bytes from bufferBase on; its position is the read offset.
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER).order(ByteOrder.LITTLE_ENDIAN).limit(0);
    private long bufferBase;
    private long entries;
    private long payloadDue;
    /** Entries of the kind's nested type still announced by the last outer entry (a queue's messages). */
    private long nestedDue;

    private EntryReader(ImageKind kind, RawReader in) {
        this.kind = kind;
        this.in = in;
        this.size = in.size();
    }

    static EntryReader start(ImageKind kind, RawReader in) {
        if (kind.isRaw()) {
            in.close();
            throw new IllegalArgumentException(kind + " images are raw: read them with openRawReader");
        }
        EntryReader reader = new EntryReader(kind, in);
        try {
            if (kind.headMagic() != 0) {
                reader.expectMagic(kind.headMagic(), kind.headMagic() == ImageMagic.IMG_SERVICE
                        ? "IMG_SERVICE" : "IMG_COMMON", "head magic");
            }
            reader.expectMagic(kind.magic(), kind.magicName(), "magic");
        } catch (RuntimeException e) {
            in.close();
            throw e;
        }
        return reader;
    }

    public ImageKind kind() {
        return kind;
    }

    public String name() {
        return in.name();
    }

    /** Byte offset of the next entry or payload byte. */
    public long offset() {
        return bufferBase + buffer.position();
    }

    /**
     * The next entry, parsed as {@code parser}'s type, or null at the end of
     * the image. Payload the previous entry carried and nobody read is skipped.
     */
    public <T extends MessageLite> T next(Parser<T> parser) {
        skipPayload();
        long at = offset();
        if (at == size) {
            return null;
        }
        long length = Integer.toUnsignedLong(take(Integer.BYTES, "entry size").getInt());
        if (length > MAX_ENTRY) {
            throw new ImageFormatException(name(), at, "entry at offset " + at + " claims " + length
                    + " bytes, over the " + (MAX_ENTRY >> 20) + " MiB limit");
        }
        // Checked here so that the error names where the entry starts, at its size field.
        long present = size - offset();
        if (length > present) {
            throw new ImageFormatException(name(), at, "truncated at offset " + at + " (entry of " + length
                    + " bytes, " + present + " present)");
        }
        ByteBuffer body = take((int) length, "entry");
        T entry;
        try {
            entry = parser.parseFrom(body);
        } catch (InvalidProtocolBufferException e) {
            throw new ImageFormatException(name(), at, "entry at offset " + at + " is not a valid "
                    + expectedType().getDescriptorForType().getName() + ": " + e.getMessage(), e);
        }
        entries++;
        if (nestedDue > 0) {
            nestedDue--;
        } else if (entry instanceof Message m) {
            nestedDue = kind.nesting().after(m);
        }
        payloadDue = kind.payload().after(entry);
        if (payloadDue == Payload.TO_END) {
            payloadDue = size - offset();
        }
        return entry;
    }

    /** The next entry, of the type the image holds at this place, or null at the end. */
    public Message next() {
        return next(expectedType().getParserForType());
    }

    /** The type the next entry is: the nested type while an outer entry's are due, else the kind's at this index. */
    private Message expectedType() {
        return nestedDue > 0 ? kind.nesting().nested() : kind.prototype(entries);
    }

    /** Entries of the nested type (a queue's messages) that the last outer entry announced and that are still to come. */
    public long nestedRemaining() {
        return nestedDue;
    }

    /** All remaining entries. */
    public List<Message> readAll() {
        List<Message> all = new ArrayList<>();
        for (Message m; (m = next()) != null; ) {
            all.add(m);
        }
        return all;
    }

    /** All remaining entries, parsed as {@code parser}'s type. */
    public <T extends MessageLite> List<T> readAll(Parser<T> parser) {
        List<T> all = new ArrayList<>();
        for (T m; (m = next(parser)) != null; ) {
            all.add(m);
        }
        return all;
    }

    /** Payload bytes of the last entry not read yet (pipe data, ghost file contents). */
    public long payloadRemaining() {
        return payloadDue;
    }

    /** Reads the next {@code dst.byteSize()} payload bytes of the last entry into {@code dst}. */
    public void readPayload(MemorySegment dst) {
        if (dst.byteSize() > payloadDue) {
            throw new IllegalArgumentException(name() + ": " + dst.byteSize() + " payload bytes asked, "
                    + payloadDue + " left");
        }
        long at = offset();
        requirePresent(at, dst.byteSize(), "payload");
        int buffered = (int) Math.min(buffer.remaining(), dst.byteSize());
        MemorySegment.copy(MemorySegment.ofBuffer(buffer.slice(buffer.position(), buffered)), 0, dst, 0, buffered);
        buffer.position(buffer.position() + buffered);
        long rest = dst.byteSize() - buffered;
        if (rest > 0) {
            in.readFully(dst.asSlice(buffered), offset());
            discardBuffer(offset() + rest);
        }
        payloadDue -= dst.byteSize();
    }

    /** Reads all the payload of the last entry onto the heap. */
    public byte[] readPayload() {
        if (payloadDue > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(name() + ": payload of " + payloadDue
                    + " bytes is too large for an array; read it into a MemorySegment");
        }
        byte[] data = new byte[(int) payloadDue];
        readPayload(MemorySegment.ofArray(data));
        return data;
    }

    /** Skips what is left of the last entry's payload. */
    public void skipPayload() {
        if (payloadDue == 0) {
            return;
        }
        long at = offset();
        requirePresent(at, payloadDue, "payload");
        if (payloadDue <= buffer.remaining()) {
            buffer.position(buffer.position() + (int) payloadDue);
        } else {
            discardBuffer(at + payloadDue);
        }
        payloadDue = 0;
    }

    @Override
    public void close() {
        in.close();
    }

    private void expectMagic(int expected, String expectedName, String what) {
        long at = offset();
        int found = take(Integer.BYTES, what).getInt();
        if (found != expected) {
            throw new ImageFormatException(name(), at, "bad " + what + " " + ImageMagic.hex(found) + " at offset " + at
                    + " (expected " + ImageMagic.hex(expected) + " for " + expectedName + ")");
        }
    }

    /** Consumes {@code length} bytes and returns them as a little-endian buffer. */
    private ByteBuffer take(int length, String what) {
        long at = offset();
        requirePresent(at, length, what);
        if (length <= buffer.capacity()) {
            fill(length, what);
            ByteBuffer bytes = buffer.slice(buffer.position(), length).order(ByteOrder.LITTLE_ENDIAN);
            buffer.position(buffer.position() + length);
            return bytes;
        }
        // Larger than the buffer, and known to be in the image: read it directly.
        byte[] bytes = new byte[length];
        MemorySegment target = MemorySegment.ofArray(bytes);
        int buffered = buffer.remaining();
        buffer.get(bytes, 0, buffered);
        in.readFully(target.asSlice(buffered), offset());
        discardBuffer(at + length);
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void requirePresent(long at, long length, String what) {
        long present = size - at;
        if (length > present) {
            throw new ImageFormatException(name(), at, "truncated at offset " + at + " (" + what + " of "
                    + length + " bytes, " + present + " present)");
        }
    }

    /** Makes at least {@code length} bytes available in the buffer. */
    private void fill(int length, String what) {
        if (buffer.remaining() >= length) {
            return;
        }
        long at = offset();
        buffer.compact();
        bufferBase = at;
        while (buffer.position() < length) {
            int n = in.read(buffer, bufferBase + buffer.position());
            if (n < 0) {
                // The image shrank under us: it is shorter than its size said.
                int present = buffer.position();
                buffer.flip();
                throw new ImageFormatException(name(), at, "truncated at offset " + at + " (" + what + " of "
                        + length + " bytes, " + present + " present)");
            }
        }
        buffer.flip();
    }

    private void discardBuffer(long newOffset) {
        buffer.clear().limit(0);
        bufferBase = newOffset;
    }
}
