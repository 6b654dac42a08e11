package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import dev.cryo.images.SampleImages.Sample;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.images.proto.PipeDataEntry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RoundTripTest {
    @TempDir
    static Path tmp;

    static Stream<Arguments> stores() throws Exception {
        return Stream.of(
                Arguments.of("directory", new DirectoryImageStore(Files.createTempDirectory(tmp, "images"))),
                Arguments.of("memory", new MemoryImageStore()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stores")
    void everyKindRoundTrips(String storeName, ImageStore store) {
        Set<ImageKind> covered = EnumSet.noneOf(ImageKind.class);
        for (Sample sample : SampleImages.all()) {
            sample.writeTo(store);
            try (EntryReader reader = store.openReader(sample.fileName())) {
                List<Message> entries = new ArrayList<>();
                Map<Integer, byte[]> payloads = new HashMap<>();
                for (Message m; (m = reader.next()) != null; ) {
                    if (reader.payloadRemaining() > 0) {
                        payloads.put(entries.size(), reader.readPayload());
                    }
                    entries.add(m);
                }
                assertThat(entries).as(sample.fileName()).isEqualTo(sample.entries());
                assertThat(payloads).as(sample.fileName()).containsOnlyKeys(sample.payloads().keySet());
                sample.payloads().forEach((i, p) -> assertThat(payloads.get(i)).as(sample.fileName()).isEqualTo(p));
            }
            covered.add(sample.kind());
        }
        writePages(store);
        assertThat(store.openRawReader("pages-1.img").size()).isEqualTo(SampleImages.PAGES * 4096L);
        covered.add(ImageKind.PAGES);
        assertThat(covered).as("kinds covered by the samples").containsExactlyInAnyOrder(ImageKind.values());
        assertThat(store.list()).contains("core-4242.img", "pagemap-4242.img", "pages-1.img", "inventory.img");
    }

    @Test
    void directoryAndMemoryStoresWriteTheSameBytes() throws Exception {
        DirectoryImageStore directory = new DirectoryImageStore(Files.createTempDirectory(tmp, "same"));
        MemoryImageStore memory = new MemoryImageStore();
        for (Sample sample : SampleImages.all()) {
            sample.writeTo(directory);
            sample.writeTo(memory);
            assertThat(Files.readAllBytes(directory.directory().resolve(sample.fileName())))
                    .as(sample.fileName()).isEqualTo(memory.bytes(sample.fileName()));
        }
    }

    @Test
    void framingIsHeadMagicImageMagicThenSizedEntries() {
        MemoryImageStore store = new MemoryImageStore();
        CoreEntry core = SampleImages.core(SampleImages.PID, true);
        store.writeEntry(ImageKind.CORE, 42, core);
        ByteBuffer bytes = ByteBuffer.wrap(store.bytes("core-42.img")).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(bytes.getInt()).isEqualTo(ImageMagic.IMG_COMMON);
        assertThat(bytes.getInt()).isEqualTo(0x55053847);
        assertThat(bytes.getInt()).isEqualTo(core.getSerializedSize());
        assertThat(bytes.remaining()).isEqualTo(core.getSerializedSize());

        store.writeEntry(ImageKind.INVENTORY, SampleImages.inventory());
        ByteBuffer inventory = ByteBuffer.wrap(store.bytes("inventory.img")).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(inventory.getInt()).as("inventory has no head magic").isEqualTo(0x58313116);

        store.writeEntry(ImageKind.STATS_DUMP, SampleImages.all().stream()
                .filter(s -> s.kind() == ImageKind.STATS_DUMP).findFirst().orElseThrow().entries().getFirst());
        assertThat(ByteBuffer.wrap(store.bytes("stats-dump.img")).order(ByteOrder.LITTLE_ENDIAN).getInt())
                .isEqualTo(ImageMagic.IMG_SERVICE);
    }

    @Test
    void pagesAreWrittenFromOffHeapMemoryAndReadBackIntoIt() throws Exception {
        DirectoryImageStore store = new DirectoryImageStore(Files.createTempDirectory(tmp, "pages"));
        writePages(store);
        assertThat(Files.readAllBytes(store.pathOf("pages-1.img").orElseThrow())).isEqualTo(SampleImages.pages());
        try (Arena arena = Arena.ofConfined(); RawReader pages = store.openRawReader("pages-1.img")) {
            MemorySegment page = arena.allocate(4096, 4096);
            pages.readFully(page, 2 * 4096);
            assertThat(page.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 3);
            assertThat(page.get(ValueLayout.JAVA_BYTE, 4095)).isEqualTo((byte) 3);
        }
    }

    @Test
    void pipeDataPayloadIsReadIntoMemorySegments() {
        MemoryImageStore store = new MemoryImageStore();
        byte[] big = new byte[200_000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        try (Arena arena = Arena.ofConfined(); EntryWriter w = store.openWriter(ImageKind.PIPES_DATA)) {
            MemorySegment data = arena.allocate(big.length);
            MemorySegment.copy(big, 0, data, ValueLayout.JAVA_BYTE, 0, big.length);
            w.write(PipeDataEntry.newBuilder().setPipeId(1).setBytes(big.length).build());
            w.writePayload(data.asSlice(0, 1000));
            w.writePayload(data.asSlice(1000));
            w.write(PipeDataEntry.newBuilder().setPipeId(2).setBytes(3).build());
            w.writePayload(new byte[] {7, 8, 9});
            w.commit();
        }
        try (Arena arena = Arena.ofConfined(); EntryReader r = store.openReader(ImageKind.PIPES_DATA)) {
            PipeDataEntry first = r.next(PipeDataEntry.parser());
            MemorySegment data = arena.allocate(first.getBytes());
            r.readPayload(data);
            assertThat(data.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(big);
            PipeDataEntry second = r.next(PipeDataEntry.parser());
            assertThat(second.getPipeId()).isEqualTo(2);
            assertThat(r.readPayload()).containsExactly(7, 8, 9);
            assertThat(r.next(PipeDataEntry.parser())).isNull();
        }
    }

    @Test
    void unreadPayloadIsSkipped() {
        MemoryImageStore store = new MemoryImageStore();
        SampleImages.all().stream().filter(s -> s.kind() == ImageKind.PIPES_DATA).findFirst().orElseThrow().writeTo(store);
        try (EntryReader r = store.openReader(ImageKind.PIPES_DATA)) {
            assertThat(r.readAll(PipeDataEntry.parser())).hasSize(1);
        }
    }

    @Test
    void aQueuesMessagesAreReadAsMessagesAfterIt() {
        MemoryImageStore store = new MemoryImageStore();
        SampleImages.all().stream().filter(s -> s.kind() == ImageKind.IPCNS_MSG).findFirst().orElseThrow().writeTo(store);
        try (EntryReader r = store.openReader(ImageKind.IPCNS_MSG, SampleImages.IPC_NS)) {
            List<String> types = new ArrayList<>();
            for (Message m; (m = r.next()) != null; ) {
                types.add(m.getDescriptorForType().getName() + (m instanceof dev.cryo.images.proto.IpcMsg msg ? " " + msg.getMtype() : ""));
            }
            assertThat(types).containsExactly("IpcMsgEntry", "IpcMsg 1", "IpcMsg 42", "IpcMsgEntry");
            assertThat(r.nestedRemaining()).isZero();
        }
    }

    @Test
    void aQueueWhoseMessagesAreNotAllWrittenIsNotCommitted() {
        MemoryImageStore store = new MemoryImageStore();
        try (EntryWriter w = store.openWriter(ImageKind.IPCNS_MSG, 7)) {
            w.write(dev.cryo.images.proto.IpcMsgEntry.newBuilder().setDesc(SampleImages.ipcDesc(1, 0600, 0)).setQbytes(100).setQnum(2).build());
            w.write(dev.cryo.images.proto.IpcMsg.newBuilder().setMtype(1).setMsize(0).build());
            org.assertj.core.api.Assertions.assertThatThrownBy(w::commit).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("1 more IpcMsg entries are due");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> w.write(
                    dev.cryo.images.proto.IpcMsgEntry.newBuilder().setDesc(SampleImages.ipcDesc(1, 0600, 1)).setQbytes(1).setQnum(0).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("takes IpcMsg");
        }
        assertThat(store.exists(ImageKind.IPCNS_MSG.fileName(7))).isFalse();
    }

    @Test
    void pagemapReadsHeadThenEntries() {
        MemoryImageStore store = new MemoryImageStore();
        SampleImages.all().stream().filter(s -> s.kind() == ImageKind.PAGEMAP).findFirst().orElseThrow().writeTo(store);
        try (EntryReader r = store.openReader(ImageKind.PAGEMAP, SampleImages.PID)) {
            assertThat(r.next(PagemapHead.parser()).getPagesId()).isEqualTo(1);
            List<PagemapEntry> runs = r.readAll(PagemapEntry.parser());
            assertThat(runs).extracting(PagemapEntry::getFlags)
                    .containsExactly(PagemapFlags.PE_PRESENT, PagemapFlags.PE_PARENT, PagemapFlags.PE_PRESENT | PagemapFlags.PE_LAZY);
        }
    }

    @Test
    void singleEntryImagesHaveShortcuts() {
        MemoryImageStore store = new MemoryImageStore();
        CoreEntry core = SampleImages.core(SampleImages.THREAD, false);
        store.writeEntry(ImageKind.CORE, SampleImages.THREAD, core);
        assertThat(store.readEntry(ImageKind.CORE, SampleImages.THREAD, CoreEntry.parser())).isEqualTo(core);
    }

    private static void writePages(ImageStore store) {
        byte[] pages = SampleImages.pages();
        try (Arena arena = Arena.ofConfined(); RawWriter w = store.openRawWriter(ImageKind.PAGES.fileName(1))) {
            MemorySegment buffer = arena.allocate(pages.length, 4096);
            MemorySegment.copy(pages, 0, buffer, ValueLayout.JAVA_BYTE, 0, pages.length);
            w.write(buffer.asSlice(0, 4096));
            w.write(buffer.asSlice(4096));
            assertThat(w.position()).isEqualTo(pages.length);
            w.commit();
        }
    }
}
