package dev.cryo.images;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Message;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Writes one image of entries: the magics, then each entry as a u32
 * little-endian size and the message, and where the kind has one, the raw
 * payload after an entry (pipe data, ghost file contents).
 *
 * <pre>{@code
 * try (EntryWriter w = store.openWriter(ImageKind.PIPES_DATA)) {
 *     w.write(PipeDataEntry.newBuilder().setPipeId(ino).setBytes(n).build());
 *     w.writePayload(data);          // exactly n bytes
 *     w.commit();                    // without it, close() abandons the image
 * }
 * }</pre>
 */
public final class EntryWriter implements AutoCloseable {
    private static final int BUFFER = 64 * 1024;

    private final ImageKind kind;
    private final RawWriter out;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER).order(ByteOrder.LITTLE_ENDIAN);
    private long entries;
    private long payloadDue;
    /** Entries of the kind's nested type that the last outer entry announced and that are still to come. */
    private long nestedDue;
    private boolean committed;

    private EntryWriter(ImageKind kind, RawWriter out) {
        this.kind = kind;
        this.out = out;
    }

    static EntryWriter start(ImageKind kind, RawWriter out) {
        if (kind.isRaw()) {
            out.close();
            throw new IllegalArgumentException(kind + " images are raw: write them with openRawWriter");
        }
        EntryWriter writer = new EntryWriter(kind, out);
        if (kind.headMagic() != 0) {
            writer.buffer.putInt(kind.headMagic());
        }
        writer.buffer.putInt(kind.magic());
        return writer;
    }

    public ImageKind kind() {
        return kind;
    }

    public String name() {
        return out.name();
    }

    /** Appends one entry. Its type must be the one the image holds at this place. */
    public void write(Message entry) {
        checkWritable();
        if (payloadDue != 0) {
            throw new IllegalStateException(name() + ": the previous entry's payload is not complete ("
                    + (payloadDue == Payload.TO_END ? "it runs to the end" : payloadDue + " bytes due") + ")");
        }
        Descriptor expected = nestedDue > 0 ? kind.nesting().nested().getDescriptorForType() : kind.entryType(entries);
        if (entry.getDescriptorForType() != expected) {
            throw new IllegalArgumentException(name() + " takes " + expected.getName() + " as entry " + entries
                    + ", not " + entry.getDescriptorForType().getName());
        }
        int size = entry.getSerializedSize();
        if (size > EntryReader.MAX_ENTRY) {
            throw new IllegalArgumentException(name() + ": entry of " + size + " bytes is over the "
                    + EntryReader.MAX_ENTRY + "-byte limit that readers enforce");
        }
        room(Integer.BYTES);
        buffer.putInt(size);
        try {
            if (size <= buffer.capacity()) {
                room(size);
                CodedOutputStream coded = CodedOutputStream.newInstance(
                        buffer.array(), buffer.arrayOffset() + buffer.position(), size);
                entry.writeTo(coded);
                coded.checkNoSpaceLeft();
                buffer.position(buffer.position() + size);
            } else {
                flush();
                out.write(MemorySegment.ofArray(entry.toByteArray()));
            }
        } catch (IOException e) {
            throw new IllegalStateException(name() + ": " + entry.getDescriptorForType().getName()
                    + " serialized to another size than it announced", e);
        }
        entries++;
        payloadDue = kind.payload().after(entry);
        nestedDue = nestedDue > 0 ? nestedDue - 1 : kind.nesting().after(entry);
    }

    /**
     * Appends payload bytes owed by the last entry (the {@code bytes} of a
     * pipe_data_entry, a ghost file's contents). Off-heap data is written
     * without a copy; it may come in several calls.
     */
    public void writePayload(MemorySegment data) {
        checkWritable();
        if (payloadDue == 0) {
            throw new IllegalStateException(name() + ": entry " + (entries - 1) + " carries no payload");
        }
        if (payloadDue != Payload.TO_END && data.byteSize() > payloadDue) {
            throw new IllegalArgumentException(name() + ": " + data.byteSize() + " payload bytes given, "
                    + payloadDue + " due");
        }
        flush();
        out.write(data);
        if (payloadDue != Payload.TO_END) {
            payloadDue -= data.byteSize();
        }
    }

    public void writePayload(byte[] data) {
        writePayload(MemorySegment.ofArray(data));
    }

    /** Entries written so far. */
    public long entries() {
        return entries;
    }

    /** Makes the image visible under its name. */
    public void commit() {
        checkWritable();
        if (payloadDue > 0) {
            throw new IllegalStateException(name() + ": " + payloadDue + " payload bytes still due");
        }
        if (nestedDue > 0) {
            throw new IllegalStateException(name() + ": " + nestedDue + " more " + kind.nesting().nested().getDescriptorForType().getName()
                    + " entries are due, as the last " + kind.entryType(entries - 1).getName() + " announced");
        }
        if (entries == 0 && kind.entryType(0) != kind.entryType(1)) {
            throw new IllegalStateException(name() + ": an image of " + kind + " needs its "
                    + kind.entryType(0).getName() + " first");
        }
        flush();
        out.commit();
        committed = true;
    }

    /** Abandons the image unless it was committed. */
    @Override
    public void close() {
        out.close();
    }

    private void checkWritable() {
        if (committed) {
            throw new IllegalStateException(name() + " is already committed");
        }
    }

    private void room(int bytes) {
        if (buffer.remaining() < bytes) {
            flush();
        }
    }

    private void flush() {
        if (buffer.position() > 0) {
            out.write(MemorySegment.ofArray(buffer.array()).asSlice(0, buffer.position()));
            buffer.clear();
        }
    }
}
