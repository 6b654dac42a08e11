package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PipeDataEntry;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/** A damaged image fails with one line naming the file and the offset of the damage. */
class CorruptImageTest {
    private final MemoryImageStore store = new MemoryImageStore();
    private final CoreEntry core = SampleImages.core(SampleImages.PID, true);

    @Test
    void truncatedEntry() {
        store.writeEntry(ImageKind.CORE, 42, core);
        byte[] whole = store.bytes("core-42.img");
        store.put("core-42.img", Arrays.copyOf(whole, 12 + 40));
        assertFormatError(() -> store.readEntry(ImageKind.CORE, 42, CoreEntry.parser()), "core-42.img", 8)
                .hasMessage("core-42.img: truncated at offset 8 (entry of " + core.getSerializedSize()
                        + " bytes, 40 present)");
    }

    @Test
    void truncatedSizeField() {
        store.writeEntry(ImageKind.CORE, 42, core);
        store.put("core-42.img", Arrays.copyOf(store.bytes("core-42.img"), 10));
        assertFormatError(() -> store.readEntry(ImageKind.CORE, 42, CoreEntry.parser()), "core-42.img", 8)
                .hasMessage("core-42.img: truncated at offset 8 (entry size of 4 bytes, 2 present)");
    }

    @Test
    void badImageMagic() {
        store.writeEntry(ImageKind.CORE, 42, core);
        byte[] bytes = store.bytes("core-42.img");
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 0x12345678);
        store.put("core-42.img", bytes);
        assertFormatError(() -> store.openReader(ImageKind.CORE, 42), "core-42.img", 4)
                .hasMessage("core-42.img: bad magic 0x12345678 at offset 4 (expected 0x55053847 for CORE)");
    }

    @Test
    void anImageOfAnotherKindUnderTheName() {
        store.writeEntry(ImageKind.MM, 7, SampleImages.mm());
        store.put("core-7.img", store.bytes("mm-7.img"));
        assertFormatError(() -> store.openReader(ImageKind.CORE, 7), "core-7.img", 4)
                .hasMessage("core-7.img: bad magic 0x57492820 at offset 4 (expected 0x55053847 for CORE)");
    }

    @Test
    void badHeadMagic() {
        store.put("core-42.img", new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertFormatError(() -> store.openReader(ImageKind.CORE, 42), "core-42.img", 0)
                .hasMessage("core-42.img: bad head magic 0x04030201 at offset 0 (expected 0x54564319 for IMG_COMMON)");
    }

    @Test
    void emptyImage() {
        store.put("pstree.img", new byte[0]);
        assertFormatError(() -> store.openReader(ImageKind.PSTREE), "pstree.img", 0)
                .hasMessage("pstree.img: truncated at offset 0 (head magic of 4 bytes, 0 present)");
    }

    @Test
    void absurdEntrySizeIsAnErrorNotAnAllocation() {
        byte[] bytes = header(ImageKind.MM, 12);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 0xfffffff0);
        store.put("mm-7.img", bytes);
        assertFormatError(() -> store.readEntry(ImageKind.MM, 7, MmEntry.parser()), "mm-7.img", 8)
                .hasMessage("mm-7.img: entry at offset 8 claims 4294967280 bytes, over the 64 MiB limit");
    }

    @Test
    void entrySizePastTheEndIsTruncation() {
        byte[] bytes = header(ImageKind.MM, 8 + 100);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 10_000_000);
        store.put("mm-7.img", bytes);
        assertFormatError(() -> store.readEntry(ImageKind.MM, 7, MmEntry.parser()), "mm-7.img", 8)
                .hasMessage("mm-7.img: truncated at offset 8 (entry of 10000000 bytes, 96 present)");
    }

    @Test
    void entryThatIsNotTheMessage() {
        byte[] bytes = header(ImageKind.MM, 8 + 4 + 3);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(8, 3);
        b.put(12, (byte) 0x08).put(13, (byte) 0x80).put(14, (byte) 0x80);   // field 1, varint cut short
        store.put("mm-7.img", bytes);
        assertFormatError(() -> store.readEntry(ImageKind.MM, 7, MmEntry.parser()), "mm-7.img", 8)
                .hasMessageStartingWith("mm-7.img: entry at offset 8 is not a valid MmEntry: ");
    }

    @Test
    void entryMissingRequiredFields() {
        byte[] bytes = header(ImageKind.MM, 8 + 4);
        store.put("mm-7.img", bytes);   // a zero-length entry: every required field missing
        assertFormatError(() -> store.readEntry(ImageKind.MM, 7, MmEntry.parser()), "mm-7.img", 8)
                .hasMessageContaining("is not a valid MmEntry")
                .hasMessageContaining("mm_start_code");
    }

    @Test
    void truncatedPipeData() {
        try (EntryWriter w = store.openWriter(ImageKind.PIPES_DATA)) {
            w.write(PipeDataEntry.newBuilder().setPipeId(5).setBytes(100).build());
            w.writePayload(new byte[100]);
            w.commit();
        }
        byte[] bytes = store.bytes("pipes-data.img");
        store.put("pipes-data.img", Arrays.copyOf(bytes, bytes.length - 30));
        try (EntryReader r = store.openReader(ImageKind.PIPES_DATA)) {
            PipeDataEntry entry = r.next(PipeDataEntry.parser());
            long at = r.offset();
            assertFormatError(r::readPayload, "pipes-data.img", at)
                    .hasMessage("pipes-data.img: truncated at offset " + at + " (payload of 100 bytes, 70 present)");
            assertThat(entry.getBytes()).isEqualTo(100);
        }
    }

    @Test
    void truncatedPages() {
        store.put("pages-1.img", new byte[4096 + 100]);
        try (Arena arena = Arena.ofConfined(); RawReader pages = store.openRawReader("pages-1.img")) {
            assertFormatError(() -> pages.readFully(arena.allocate(4096), 4096), "pages-1.img", 4196)
                    .hasMessage("pages-1.img: truncated at offset 4196 (expected 3996 more bytes)");
        }
    }

    private static byte[] header(ImageKind kind, int length) {
        byte[] bytes = new byte[length];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(kind.headMagic()).putInt(kind.magic());
        return bytes;
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertFormatError(Runnable action, String image, long offset) {
        return assertThatThrownBy(action::run)
                .isInstanceOfSatisfying(ImageFormatException.class, e -> {
                    assertThat(e.image()).isEqualTo(image);
                    assertThat(e.offset()).isEqualTo(offset);
                })
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
