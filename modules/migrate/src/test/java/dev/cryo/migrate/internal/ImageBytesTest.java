package dev.cryo.migrate.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Mapping;

/** The bytes of an image as the cache holds them, released page by page as deduplication does. */
class ImageBytesTest {
    private static final int PAGE = 4096;

    /** An image of {@code pages} pages, each page's first long its own index. */
    private static ImageBytes image(int pages) {
        return fill(new ImageBytes(), pages);
    }

    private static ImageBytes fill(ImageBytes b, int pages) {
        for (long p = 0; p < pages; ) {
            MemorySegment tail = b.tail((long) (pages - p) * PAGE);
            long n = tail.byteSize() / PAGE;
            for (long i = 0; i < n; i++) {
                tail.set(ValueLayout.JAVA_LONG, i * PAGE, p + i);
            }
            b.appended(n * PAGE);
            p += n;
        }
        return b;
    }

    @Test
    void everyOtherPageReleasedLeavesTheOthersReadableAndTheReleasedRefused() {
        int pages = 8192; // 32 MiB: several chunks
        try (ImageBytes b = image(pages); Arena arena = Arena.ofConfined()) {
            for (int p = 0; p < pages; p += 2) {
                b.release((long) p * PAGE, (long) (p + 1) * PAGE);
            }
            assertThat(b.heldBytes()).isEqualTo((long) pages / 2 * PAGE);
            MemorySegment page = arena.allocate(PAGE, PAGE);
            for (int p = 0; p < pages; p++) {
                boolean read = b.copyTo((long) p * PAGE, page);
                assertThat(read).as("page %d read", p).isEqualTo(p % 2 == 1);
                if (read) {
                    assertThat(page.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(p);
                }
            }
            assertThat(b.copyTo(PAGE, arena.allocate(2 * PAGE))).as("a read across a released page").isFalse();
            // the rest, in reverse: ranges that touch merge into one, and every byte is given back
            for (int p = pages - 1; p > 0; p -= 2) {
                b.release((long) p * PAGE, (long) (p + 1) * PAGE);
            }
            assertThat(b.heldBytes()).isZero();
            assertThat(b.touchesReleased(0, (long) pages * PAGE)).isTrue();
        }
    }

    @Test
    void aReleaseOverlappingOthersMergesThemAndCountsEachByteOnce() {
        try (ImageBytes b = image(16)) {
            b.release(2 * PAGE, 4 * PAGE);
            b.release(6 * PAGE, 8 * PAGE);
            b.release(3 * PAGE, 7 * PAGE);
            assertThat(b.heldBytes()).isEqualTo(10L * PAGE);
            assertThat(b.touchesReleased(0, 2 * PAGE)).isFalse();
            assertThat(b.touchesReleased(8 * PAGE, 16 * PAGE)).isFalse();
            assertThat(b.touchesReleased(7 * PAGE, 9 * PAGE)).isTrue();
        }
    }

    @Test
    void inAMemfdReleasedPagesAreHolesInTheFileAndStillRefused() throws Exception {
        int pages = 4096; // 16 MiB: several chunks, each a mapping of the file at its offset
        try (ImageBytes b = fill(ImageBytes.inMemfd("test", new HeldInFiles()), pages); Arena arena = Arena.ofShared()) {
            for (int p = 0; p < pages; p += 2) {
                b.release((long) p * PAGE, (long) (p + 1) * PAGE);
            }
            assertThat(b.heldBytes()).isEqualTo((long) pages / 2 * PAGE);
            MemorySegment page = arena.allocate(PAGE, PAGE);
            assertThat(b.copyTo(0, page)).as("a released page").isFalse();
            assertThat(b.copyTo(PAGE, page)).isTrue();
            assertThat(page.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(1);
            // what a restore is handed: the same file, read-only; a released page is a hole (zeros), which is why
            // the cache checks a reader's ranges before it hands the file over
            try (Fd f = b.readOnlyFile();
                 Mapping m = Mapping.map(0, (long) pages * PAGE, Kernel.PROT_READ,
                         Kernel.MAP_SHARED, f.fd(), 0)) {
                for (int p = 0; p < pages; p++) {
                    assertThat(m.segment().get(ValueLayout.JAVA_LONG, (long) p * PAGE)).as("page %d", p).isEqualTo(p % 2 == 1 ? p : 0);
                }
                assertThat(Files.readString(Path.of("/proc/self/fdinfo/" + f.fd())))
                        .as("read-only").containsPattern("flags:\\s+0*[0-7]*0\\n");
            }
        }
    }

    @Test
    void pagesSplicedIntoTheMemfdReadBackThroughTheChunksAndAreCountedUntilReleased() {
        int pages = 64; // the first chunk (16 pages) and part of the next ones
        HeldInFiles counted = new HeldInFiles();
        try (ImageBytes b = ImageBytes.inMemfd("test", counted); Arena arena = Arena.ofConfined();
             Io.Pipe pipe = Io.pipe(0)) {
            MemorySegment page = arena.allocate(PAGE, PAGE);
            for (long p = 0; p < pages; ) {
                MemorySegment tail = b.tail((long) (pages - p) * PAGE);
                // a page at a time into the tail (the default pipe holds 16), which is said filled once whole
                for (long i = 0; i < tail.byteSize() / PAGE; i++, p++) {
                    page.set(ValueLayout.JAVA_LONG, 0, p);
                    Io.writeFully(pipe.write().fd(), page);
                    b.appendFromPipe(pipe.read(), i * PAGE, PAGE);
                }
                b.appended(tail.byteSize());
            }
            for (int p = 0; p < pages; p++) {
                assertThat(b.copyTo((long) p * PAGE, page)).isTrue();
                assertThat(page.get(ValueLayout.JAVA_LONG, 0)).as("page %d", p).isEqualTo(p);
            }
            b.release(0, 16L * PAGE);
            b.release(0, 32L * PAGE); // half of it released already: counted once
            assertThat(b.heldBytes()).isEqualTo(32L * PAGE);
            b.close();
            b.close();
            assertThat(counted.peak()).isEqualTo((long) pages * PAGE);
            // nothing is held once closed: as many bytes again reach the same peak, not more
            counted.add((long) pages * PAGE);
            assertThat(counted.peak()).isEqualTo((long) pages * PAGE);
        }
    }
}
