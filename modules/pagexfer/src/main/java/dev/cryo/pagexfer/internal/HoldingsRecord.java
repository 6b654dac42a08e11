package dev.cryo.pagexfer.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.images.ImageFormatException;
import dev.cryo.images.ImageStore;
import dev.cryo.images.RawReader;
import dev.cryo.images.RawWriter;

/**
 * {@value #NAME}: beside the images of a step whose pages went to a page server, which pages of each process
 * that server holds after the step (itself or through its parents), one line {@code PID START END} per run
 * (addresses in hex). The next step reads it to know what it may leave in the parent: the pagemaps that
 * would tell are on the server. CRIU and crit ignore the file.
 */
final class HoldingsRecord {
    static final String NAME = "cryo-page-server.txt";

    private HoldingsRecord() {}

    static Map<Integer, List<long[]>> read(ImageStore store) {
        Map<Integer, List<long[]>> out = new LinkedHashMap<>();
        if (store == null || !store.exists(NAME)) {
            return out;
        }
        String text;
        try (RawReader r = store.openRawReader(NAME); Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(Math.max(1, r.size())).asSlice(0, r.size());
            r.readFully(data, 0);
            text = new String(data.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII);
        }
        int line = 0;
        for (String l : text.split("\n")) {
            line++;
            String[] f = l.trim().split("\\s+");
            if (f.length != 3 || f[0].startsWith("#")) {
                continue;
            }
            try {
                long start = Long.parseUnsignedLong(f[1], 16);
                long end = Long.parseUnsignedLong(f[2], 16);
                if (end <= start || (start & 4095) != 0 || (end & 4095) != 0) {
                    throw new NumberFormatException("not a page-aligned range: " + l.trim());
                }
                out.computeIfAbsent(Integer.parseInt(f[0]), p -> new ArrayList<>()).add(new long[] {start, end});
            } catch (NumberFormatException e) {
                String where = store.pathOf(NAME).map(Object::toString).orElse(NAME);
                throw new ImageFormatException(where, 0, "line " + line + " is not PID START END (" + e.getMessage() + ")", e);
            }
        }
        return out;
    }

    static void write(ImageStore store, Map<Integer, List<long[]>> holds) {
        StringBuilder text = new StringBuilder("# pid start end: pages the page server holds for each process after this step\n");
        holds.forEach((pid, runs) -> runs.forEach(r ->
                text.append(pid).append(' ').append(Long.toHexString(r[0])).append(' ').append(Long.toHexString(r[1])).append('\n')));
        try (RawWriter w = store.openRawWriter(NAME)) {
            w.write(MemorySegment.ofArray(text.toString().getBytes(StandardCharsets.US_ASCII)));
            w.commit();
        }
    }
}
