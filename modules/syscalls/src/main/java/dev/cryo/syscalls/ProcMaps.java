package dev.cryo.syscalls;

import java.util.ArrayList;
import java.util.List;

/**
 * The mappings of a process as {@code /proc/PID/maps} lists them, one parser for every reader in cryo:
 * {@code start-end perms offset major:minor inode name}. {@code smaps} has the same line first, followed by
 * lines of {@code Key: value}, which {@link #parse} passes to a {@link Details} consumer.
 */
public final class ProcMaps {
    private ProcMaps() {}

    /** One mapping. {@code name} is the path, {@code [stack]}, {@code [vdso]}..., or empty for anonymous memory. */
    public record Mapping(long start, long end, String perms, long offset, String dev, long inode, String name) {
        public long size() {
            return end - start;
        }

        public boolean readable() {
            return perms.charAt(0) == 'r';
        }

        public boolean writable() {
            return perms.charAt(1) == 'w';
        }

        public boolean executable() {
            return perms.charAt(2) == 'x';
        }

        public boolean shared() {
            return perms.charAt(3) == 's';
        }

        public boolean contains(long from, long to) {
            return from >= start && to <= end;
        }
    }

    /** What follows a mapping's line in smaps: {@code key} and {@code value} of each {@code Key: value} line. */
    @FunctionalInterface
    public interface Details {
        void detail(Mapping of, String key, String value);
    }

    /** The mappings of {@code pid}, in address order. */
    public static List<Mapping> of(int pid) {
        return read(pid, "maps", null, null);
    }

    /** What {@link #each} hands over: a mapping and the value of its {@code key} line (null when it has none). */
    @FunctionalInterface
    public interface Each {
        void mapping(Mapping m, String value);
    }

    /**
     * {@code /proc/PID/FILE} (maps or smaps) read line by line, each mapping handed to {@code each} with the
     * value of its {@code key} line once its lines are over, and not kept: a reader that keeps less than the
     * list of every mapping holds less, and what it drops dies young instead of being promoted with the list
     * to the old generation, where the serial collector keeps it until the heap is full.
     */
    public static void each(int pid, String file, String key, Each each) {
        OneByOne lines = new OneByOne(key, each);
        Proc.readLines(pid, file, lines);
        lines.flush();
    }

    /** The parser of {@link #each}: the last mapping and its key's value, handed over when the next starts. */
    private static final class OneByOne implements java.util.function.Consumer<String> {
        private final String key;
        private final Each each;
        private Mapping last;
        private String value;

        OneByOne(String key, Each each) {
            this.key = key;
            this.each = each;
        }

        @Override
        public void accept(String line) {
            Mapping m = mappingLine(line);
            if (m != null) {
                flush();
                last = m;
            } else if (last != null && key != null && isKey(line, 0, line.length(), key)) {
                value = line.substring(key.length() + 1).strip();
            }
        }

        void flush() {
            if (last != null) {
                each.mapping(last, value);
            }
            last = null;
            value = null;
        }
    }

    /** The mapping of {@code pid} named {@code name} ({@code [vdso]}, {@code [stack]}...), or null. */
    public static Mapping named(List<Mapping> maps, String name) {
        for (Mapping m : maps) {
            if (m.name().equals(name)) {
                return m;
            }
        }
        return null;
    }

    /** The mapping of {@code maps} (in address order) that holds {@code addr}, or null: a binary search, as it is asked once per thread. */
    public static Mapping at(List<Mapping> maps, long addr) {
        int lo = 0;
        int hi = maps.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(maps.get(mid).end(), addr) <= 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo < maps.size() && Long.compareUnsigned(maps.get(lo).start(), addr) <= 0) {
            return maps.get(lo);
        }
        return null;
    }

    /** Parses maps or smaps text; with smaps, each detail line goes to {@code details} (may be null). */
    public static List<Mapping> parse(String text, Details details) {
        return parse(text, null, details);
    }

    /**
     * Parses maps or smaps text, giving {@code details} only the lines of {@code key} (e.g. {@code VmFlags});
     * the others are passed over without being copied, which counts where smaps lists tens of thousands of
     * mappings with some twenty lines each.
     */
    public static List<Mapping> parse(String text, String key, Details details) {
        Lines lines = new Lines(key, details);
        int at = 0;
        int n = text.length();
        while (at < n) {
            int eol = text.indexOf('\n', at);
            if (eol < 0) {
                eol = n;
            }
            lines.accept(text.substring(at, eol));
            at = eol + 1;
        }
        return lines.out;
    }

    /**
     * {@code /proc/PID/FILE} (maps or smaps) parsed as {@link #parse(String, String, Details)} does, read line by
     * line: cryo's memory stays flat where smaps lists tens of thousands of mappings.
     */
    public static List<Mapping> read(int pid, String file, String key, Details details) {
        Lines lines = new Lines(key, details);
        Proc.readLines(pid, file, lines);
        return lines.out;
    }

    /** The parser, a line at a time: a mapping's line starts a mapping, a {@code key} line is its detail. */
    private static final class Lines implements java.util.function.Consumer<String> {
        final List<Mapping> out = new ArrayList<>();
        private final String key;
        private final Details details;

        Lines(String key, Details details) {
            this.key = key;
            this.details = details;
        }

        @Override
        public void accept(String line) {
            int eol = line.length();
            Mapping m = mappingLine(line);
            if (m != null) {
                out.add(m);
            } else if (details != null && !out.isEmpty() && (key == null || isKey(line, 0, eol, key))) {
                int colon = indexOf(line, ':', 0, eol);
                if (colon > 0) {
                    details.detail(out.getLast(), line.substring(0, colon), line.substring(colon + 1, eol).strip());
                }
            }
        }
    }

    /** The mapping {@code line} describes, or null when it is not a mapping's line (an smaps detail line). */
    private static Mapping mappingLine(String line) {
        int eol = line.length();
        int dash = mappingDash(line);
        int space = dash > 0 && dash < eol && line.charAt(dash) == '-' ? indexOf(line, ' ', dash, eol) : -1;
        return space > dash ? mapping(line, dash, space) : null;
    }

    /** Where the hex start address that begins a mapping's line ends (0 when the line does not begin with one). */
    private static int mappingDash(String line) {
        int dash = 0;
        while (dash < line.length() && Character.digit(line.charAt(dash), 16) >= 0) {
            dash++;
        }
        return dash;
    }

    private static boolean isKey(String text, int at, int eol, String key) {
        int colon = at + key.length();
        return colon < eol && text.charAt(colon) == ':' && text.startsWith(key, at);
    }

    /** Index of {@code c} in {@code s} from {@code from} up to {@code to} (the end of the line), or -1. */
    private static int indexOf(String s, char c, int from, int to) {
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == c) {
                return i;
            }
        }
        return -1;
    }

    private static Mapping mapping(String line, int dash, int space) {
        String[] f = line.substring(space + 1).strip().split("\\s+", 5);
        if (f.length < 4) {
            throw new IllegalArgumentException("not a maps line: " + line);
        }
        // Interned: tens of thousands of mappings share a few permissions, devices and names.
        return new Mapping(Long.parseUnsignedLong(line, 0, dash, 16), Long.parseUnsignedLong(line, dash + 1, space, 16),
                f[0].intern(), Long.parseUnsignedLong(f[1], 16), f[2].intern(), Long.parseLong(f[3]),
                f.length > 4 ? f[4].strip().intern() : "");
    }
}
