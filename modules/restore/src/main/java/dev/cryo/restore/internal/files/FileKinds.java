package dev.cryo.restore.internal.files;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;

import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FownEntry;

/**
 * What every kind of file entry has, whichever kind it is: the status flags and SIGIO owner of the open
 * file description (CRIU's entries each carry {@code flags} and {@code fown} under those names).
 */
final class FileKinds {
    private FileKinds() {}

    /** The entry of the file's own kind (reg, pipe, efd, ...). */
    private static Message kind(FileEntry f) {
        for (var e : f.getAllFields().entrySet()) {
            if (e.getKey().getType() == FieldDescriptor.Type.MESSAGE) {
                return (Message) e.getValue();
            }
        }
        return null;
    }

    private static Object field(FileEntry f, String name) {
        Message kind = kind(f);
        if (kind == null) {
            return null;
        }
        FieldDescriptor d = kind.getDescriptorForType().findFieldByName(name);
        return d == null || !kind.hasField(d) ? null : kind.getField(d);
    }

    /** The dumped open flags, or -1 when the kind has none (a FIFO's are in its reg entry). */
    static int flags(FileEntry f) {
        return field(f, "flags") instanceof Integer i ? i : -1;
    }

    /** The SIGIO owner, or null when the kind has none or nobody owned the file. */
    static FownEntry owner(FileEntry f) {
        return field(f, "fown") instanceof FownEntry o && (o.getPid() != 0 || o.getSignum() != 0) ? o : null;
    }
}
