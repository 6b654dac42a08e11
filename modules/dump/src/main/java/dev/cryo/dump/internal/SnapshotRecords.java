package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import dev.cryo.images.ImageFormatException;
import dev.cryo.images.ImageStore;
import dev.cryo.images.RawReader;
import dev.cryo.images.RawWriter;

/**
 * cryo's own small text files beside the CRIU images of a snapshot, which the next step of an iterative
 * dump reads (cryo-uffd.txt, cryo-soft-dirty.txt, cryo-restart.txt): one line per process or thread,
 * fields separated by spaces, lines starting with # are comments. CRIU and crit ignore them.
 */
final class SnapshotRecords {
    private SnapshotRecords() {}

    /**
     * Gives {@code each} the fields of every line of {@code name} that has {@code fields} of them; nothing if
     * the snapshot has no such file. A line {@code each} cannot parse fails with the file's name.
     */
    static void read(ImageStore store, String name, int fields, Consumer<String[]> each) {
        if (store == null || !store.exists(name)) {
            return;
        }
        String text;
        try (RawReader r = store.openRawReader(name); Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(Math.max(1, r.size())).asSlice(0, r.size());
            r.readFully(data, 0);
            text = new String(data.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII);
        }
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length != fields || f[0].startsWith("#")) {
                continue;
            }
            try {
                each.accept(f);
            } catch (NumberFormatException e) {
                String where = store.pathOf(name).map(Object::toString).orElse(name);
                throw new ImageFormatException(where, 0, "a line cryo cannot read (" + e.getMessage() + ")", e);
            }
        }
    }

    /** Writes {@code text} as {@code name}, atomically, as every image is. */
    static void write(ImageStore store, String name, CharSequence text) {
        try (RawWriter w = store.openRawWriter(name)) {
            w.write(MemorySegment.ofArray(text.toString().getBytes(StandardCharsets.US_ASCII)));
            w.commit();
        }
    }
}
