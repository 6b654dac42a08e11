package dev.cryo.dump;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.cryo.syscalls.Mapping;

/**
 * Counts, independently of cryo's PAGEMAP_SCAN path, the pages a dump must write: present or swapped
 * pages of private mappings that are not a file's page cache and not the shared zero page, read one
 * 64-bit entry per page from /proc/PID/pagemap.
 */
final class PagemapCount {
    private PagemapCount() {}

    static long privatePages(int pid) throws IOException {
        long zeroPfn = zeroPagePfn();
        long count = 0;
        try (RandomAccessFile pagemap = new RandomAccessFile("/proc/" + pid + "/pagemap", "r")) {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
                String[] f = line.split("\\s+");
                String name = f.length > 5 ? f[5] : "";
                if (f[1].charAt(3) != 'p' || name.startsWith("[v")) {
                    continue; // shared, or [vdso] / [vvar] / [vvar_vclock] / [vsyscall]
                }
                String[] range = f[0].split("-");
                long start = Long.parseUnsignedLong(range[0], 16);
                long end = Long.parseUnsignedLong(range[1], 16);
                long pages = (end - start) / 4096;
                byte[] raw = new byte[(int) (pages * 8)];
                pagemap.seek(start / 4096 * 8);
                pagemap.readFully(raw);
                ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
                for (long i = 0; i < pages; i++) {
                    long e = b.getLong();
                    boolean present = (e & (1L << 63)) != 0;
                    boolean swapped = (e & (1L << 62)) != 0;
                    boolean file = (e & (1L << 61)) != 0;
                    long pfn = e & ((1L << 55) - 1);
                    if ((present || swapped) && !file && !(present && pfn == zeroPfn)) {
                        count++;
                    }
                }
            }
        }
        return count;
    }

    /** A page only read, never written, maps the zero page: its PFN in our own pagemap. */
    private static long zeroPagePfn() throws IOException {
        try (Mapping m = Mapping.anonymous(4096); RandomAccessFile self = new RandomAccessFile("/proc/self/pagemap", "r")) {
            byte touched = m.segment().get(ValueLayout.JAVA_BYTE, 0);
            self.seek(m.address() / 4096 * 8);
            long e = Long.reverseBytes(self.readLong());
            return touched == 0 ? e & ((1L << 55) - 1) : -1;
        }
    }
}
