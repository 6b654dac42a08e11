package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cryo.images.proto.PipeDataEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageJsonTest {
    @TempDir
    Path dir;

    @Test
    void coreShowsAsCritDoes() {
        DirectoryImageStore store = new DirectoryImageStore(dir);
        store.writeEntry(ImageKind.CORE, SampleImages.PID, SampleImages.core(SampleImages.PID, true));
        JsonObject image = json(ImageJson.decode(dir.resolve("core-4242.img")));
        assertThat(image.get("magic").getAsString()).isEqualTo("CORE");
        JsonObject core = image.getAsJsonArray("entries").get(0).getAsJsonObject();
        assertThat(core.get("mtype").getAsString()).isEqualTo("X86_64");
        assertThat(core.getAsJsonObject("thread_info").getAsJsonObject("gpregs").get("ip").getAsLong())
                .isEqualTo(SampleImages.RIP);
        assertThat(core.getAsJsonObject("tc").get("comm").getAsString()).isEqualTo("sleep");
    }

    @Test
    void pagesShowAsTheirSize() {
        MemoryImageStore store = new MemoryImageStore();
        store.put("pages-3.img", SampleImages.pages());
        JsonObject image = json(ImageJson.decode(store, "pages-3.img"));
        assertThat(image.get("magic").getAsString()).isEqualTo("PAGES");
        assertThat(image.get("size").getAsLong()).isEqualTo(SampleImages.PAGES * 4096L);
        assertThat(image.get("pages").getAsLong()).isEqualTo(SampleImages.PAGES);
    }

    @Test
    void pipeDataShowsAsBase64Extra() {
        MemoryImageStore store = new MemoryImageStore();
        SampleImages.byName().get("pipes-data.img").writeTo(store);
        JsonObject entry = json(ImageJson.decode(store, "pipes-data.img")).getAsJsonArray("entries").get(0).getAsJsonObject();
        assertThat(Base64.getDecoder().decode(entry.get("extra").getAsString())).isEqualTo(SampleImages.PIPE_DATA);
    }

    @Test
    void largePayloadIsSummarised() {
        MemoryImageStore store = new MemoryImageStore();
        try (EntryWriter w = store.openWriter(ImageKind.PIPES_DATA)) {
            w.write(PipeDataEntry.newBuilder().setPipeId(1).setBytes(1 << 20).build());
            w.writePayload(new byte[1 << 20]);
            w.commit();
        }
        JsonObject entry = json(ImageJson.decode(store, "pipes-data.img")).getAsJsonArray("entries").get(0).getAsJsonObject();
        assertThat(entry.get("extra").getAsString()).isEqualTo("... <1048576 bytes>");
    }

    @Test
    void aRenamedImageIsKnownByItsMagic() throws Exception {
        DirectoryImageStore store = new DirectoryImageStore(dir);
        store.writeEntry(ImageKind.MM, 5, SampleImages.mm());
        Files.move(dir.resolve("mm-5.img"), dir.resolve("copy-of-mm"));
        assertThat(json(ImageJson.decode(dir.resolve("copy-of-mm"))).get("magic").getAsString()).isEqualTo("MM");
    }

    @Test
    void anUnknownMagicIsAFormatError() {
        MemoryImageStore store = new MemoryImageStore();
        store.put("mystery", new byte[] {0x19, 0x43, 0x56, 0x54, 1, 2, 3, 4});
        assertThatThrownBy(() -> ImageJson.decode(store, "mystery"))
                .isInstanceOf(ImageFormatException.class)
                .hasMessage("mystery: unknown magic 0x04030201 at offset 4");
    }

    private static JsonObject json(String text) {
        return JsonParser.parseString(text).getAsJsonObject();
    }
}
