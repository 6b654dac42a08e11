package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.Message;
import dev.cryo.images.SampleImages.Sample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CRIU's own crit decodes every image cryo writes, with the values cryo put
 * in; and cryo reads what crit encodes. This is the proof of wire
 * compatibility.
 */
class CritCompatibilityTest {
    @TempDir
    static Path dir;
    static final Map<String, JsonObject> decoded = new ConcurrentHashMap<>();

    @BeforeAll
    static void writeAndDecodeEveryImage() {
        Crit.requireInstalled();
        DirectoryImageStore store = new DirectoryImageStore(dir);
        SampleImages.all().forEach(s -> s.writeTo(store));
        SampleImages.all().parallelStream().forEach(s -> decoded.put(s.fileName(),
                JsonParser.parseString(Crit.decode(dir.resolve(s.fileName()))).getAsJsonObject()));
    }

    @Test
    void critDecodesEveryImageWithItsMagicAndEntryCount() {
        for (Sample sample : SampleImages.all()) {
            JsonObject image = decoded.get(sample.fileName());
            assertThat(image.get("magic").getAsString()).as(sample.fileName()).isEqualTo(sample.kind().magicName());
            // crit shows a queue's messages inside its entry ("extra"), not as entries of their own
            long outer = sample.entries().stream().filter(e -> !(e instanceof dev.cryo.images.proto.IpcMsg)).count();
            assertThat(image.getAsJsonArray("entries")).as(sample.fileName()).hasSize((int) outer);
        }
    }

    @Test
    void coreCarriesRegistersAndXsave() {
        JsonObject core = entry("core-4242.img", 0);
        assertThat(core.get("mtype").getAsString()).isEqualTo("X86_64");
        JsonObject gpregs = core.getAsJsonObject("thread_info").getAsJsonObject("gpregs");
        assertThat(gpregs.get("ip").getAsLong()).isEqualTo(SampleImages.RIP);
        assertThat(gpregs.get("sp").getAsLong()).isEqualTo(SampleImages.RSP);
        assertThat(gpregs.get("fs_base").getAsLong()).isEqualTo(SampleImages.FS_BASE);
        assertThat(gpregs.get("ax").getAsBigInteger()).hasToString("18446744073709551612");   // -EINTR restart
        JsonObject fpregs = core.getAsJsonObject("thread_info").getAsJsonObject("fpregs");
        assertThat(fpregs.get("mxcsr").getAsInt()).isEqualTo(0x1f80);
        assertThat(fpregs.getAsJsonArray("xmm_space")).hasSize(64);
        assertThat(fpregs.getAsJsonObject("xsave").getAsJsonArray("ymmh_space")).hasSize(64);
        JsonObject tc = core.getAsJsonObject("tc");
        assertThat(tc.get("comm").getAsString()).isEqualTo("sleep");
        assertThat(tc.getAsJsonArray("sigactions")).hasSize(64);
        assertThat(tc.getAsJsonObject("rlimits").getAsJsonArray("rlimits")).hasSize(16);
        JsonObject thread = core.getAsJsonObject("thread_core");
        assertThat(thread.getAsJsonObject("rseq_entry").get("signature").getAsLong()).isEqualTo(0x53053053);
        assertThat(thread.getAsJsonObject("creds").get("uid").getAsInt()).isEqualTo(1000);
        assertThat(thread.get("seccomp_mode").getAsString()).isEqualTo("disabled");
    }

    @Test
    void mmCarriesVmas() {
        JsonArray vmas = entry("mm-4242.img", 0).getAsJsonArray("vmas");
        assertThat(vmas).hasSize(4);
        JsonObject heap = vmas.get(1).getAsJsonObject();
        assertThat(heap.get("start").getAsLong()).isEqualTo(SampleImages.HEAP_START);
        assertThat(heap.get("end").getAsLong()).isEqualTo(SampleImages.HEAP_START + 0x21000);
        assertThat(heap.get("fd").getAsLong()).isEqualTo(-1);
        assertThat(heap.get("status").getAsInt())
                .isEqualTo(VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_ANON_PRIVATE | VmaStatus.VMA_AREA_HEAP);
    }

    @Test
    void pagemapHasHeadThenRuns() {
        JsonArray entries = decoded.get("pagemap-4242.img").getAsJsonArray("entries");
        assertThat(entries.get(0).getAsJsonObject().get("pages_id").getAsInt()).isEqualTo(1);
        JsonObject first = entries.get(1).getAsJsonObject();
        assertThat(first.get("vaddr").getAsLong()).isEqualTo(SampleImages.HEAP_START);
        assertThat(first.get("nr_pages").getAsInt()).isEqualTo(2);
        assertThat(first.get("flags").getAsInt()).isEqualTo(PagemapFlags.PE_PRESENT);
        assertThat(entries.get(2).getAsJsonObject().get("flags").getAsInt()).isEqualTo(PagemapFlags.PE_PARENT);
    }

    @Test
    void filesCarryEveryFdType() {
        JsonArray files = decoded.get("files.img").getAsJsonArray("entries");
        List<String> types = new ArrayList<>();
        files.forEach(f -> types.add(f.getAsJsonObject().get("type").getAsString()));
        assertThat(types).contains("REG", "PIPE", "FIFO", "EVENTFD", "UNIXSK", "TTY", "MEMFD");
        JsonObject exe = files.get(2).getAsJsonObject().getAsJsonObject("reg");
        assertThat(exe.get("name").getAsString()).isEqualTo(SampleImages.EXE);
        assertThat(exe.get("mnt_id").getAsInt()).isEqualTo(22);
        JsonObject pipe = files.get(5).getAsJsonObject().getAsJsonObject("pipe");
        assertThat(pipe.get("pipe_id").getAsInt()).isEqualTo(SampleImages.PIPE_INO);
        JsonObject efd = files.get(7).getAsJsonObject().getAsJsonObject("efd");
        assertThat(efd.get("counter").getAsLong()).isEqualTo(42);
        JsonObject usk = files.get(8).getAsJsonObject().getAsJsonObject("usk");
        assertThat(usk.get("name").getAsString()).isEqualTo("/run/app.sock");
        assertThat(usk.get("peer").getAsInt()).isEqualTo(90002);
        assertThat(usk.getAsJsonObject("opts").get("so_sndbuf").getAsInt()).isEqualTo(212992);
        JsonObject tty = files.get(9).getAsJsonObject().getAsJsonObject("tty");
        assertThat(tty.get("tty_info_id").getAsInt()).isEqualTo(7);
        JsonArray fds = decoded.get("fdinfo-1.img").getAsJsonArray("entries");
        assertThat(fds.get(3).getAsJsonObject().get("type").getAsString()).isEqualTo("PIPE");
        assertThat(fds.get(3).getAsJsonObject().get("fd").getAsInt()).isEqualTo(3);
    }

    @Test
    void ttyInfoCarriesTermiosAndWinsize() {
        JsonObject tty = entry("tty-info.img", 0);
        assertThat(tty.get("type").getAsString()).isEqualTo("PTY");
        assertThat(tty.getAsJsonObject("winsize").get("ws_col").getAsInt()).isEqualTo(80);
        assertThat(tty.getAsJsonObject("termios").getAsJsonArray("c_cc")).hasSize(19);
        assertThat(tty.getAsJsonObject("pty").get("index").getAsInt()).isEqualTo(3);
    }

    @Test
    void payloadsFollowTheirEntries() {
        assertThat(extra("pipes-data.img", 0)).isEqualTo(SampleImages.PIPE_DATA);
        assertThat(entry("pipes-data.img", 0).get("bytes").getAsInt()).isEqualTo(SampleImages.PIPE_DATA.length);
        assertThat(extra("fifo-data.img", 0)).isEqualTo(SampleImages.FIFO_DATA);
        assertThat(extra("ghost-file-1f.img", 0)).isEqualTo(SampleImages.GHOST_CONTENT);
        assertThat(extra("ghost-file-2a.img", 2)).containsExactly(5, 6, 7);
    }

    @Test
    void ipcNamespaceImagesCarryTheirObjectsAndContents() {
        String ns = "-" + SampleImages.IPC_NS + ".img";
        JsonObject var = entry("ipcns-var" + ns, 0);
        assertThat(var.getAsJsonArray("sem_ctls")).hasSize(4);
        assertThat(var.get("msg_ctlmnb").getAsInt()).isEqualTo(16384);
        assertThat(var.get("shm_next_id").getAsInt()).isEqualTo(32770);
        assertThat(var.has("msg_next_id")).as("an unset next id is left out").isFalse();
        JsonObject shm = entry("ipcns-shm" + ns, 1);
        assertThat(shm.getAsJsonObject("desc").get("id").getAsInt()).isEqualTo(32769);
        assertThat(shm.getAsJsonObject("desc").get("mode").getAsInt()).isEqualTo(01600);
        assertThat(extra("ipcns-shm" + ns, 0)).isEqualTo(SampleImages.SHM_CONTENT);
        assertThat(extra("ipcns-shm" + ns, 1)).containsExactly(7, 8, 9);
        JsonObject sem = entry("ipcns-sem" + ns, 0);
        assertThat(sem.get("nsems").getAsInt()).isEqualTo(3);
        assertThat(sem.getAsJsonArray("extra")).extracting(JsonElement::getAsInt).containsExactly(0, 1, 32767);
        JsonArray messages = entry("ipcns-msg" + ns, 0).getAsJsonArray("extra");
        assertThat(messages).hasSize(4); // header, text, header, text
        assertThat(messages.get(0).getAsJsonObject().get("mtype").getAsInt()).isEqualTo(1);
        assertThat(Base64.getMimeDecoder().decode(messages.get(1).getAsString())).isEqualTo(SampleImages.MSG_TEXT);
        assertThat(messages.get(2).getAsJsonObject().get("mtype").getAsInt()).isEqualTo(42);
        assertThat(entry("ipcns-msg" + ns, 1).get("qnum").getAsInt()).isZero();
    }

    @Test
    void inventoryFsAndPstree() {
        JsonObject inventory = entry("inventory.img", 0);
        assertThat(inventory.get("img_version").getAsInt()).isEqualTo(2);
        assertThat(inventory.get("fdinfo_per_id").getAsBoolean()).isTrue();
        assertThat(inventory.getAsJsonObject("root_ids").get("time_ns_id").getAsInt()).isEqualTo(9);
        assertThat(entry("fs-4242.img", 0).get("umask").getAsInt()).isEqualTo(022);
        JsonObject task = entry("pstree.img", 0);
        assertThat(task.get("pid").getAsInt()).isEqualTo(SampleImages.PID);
        assertThat(task.getAsJsonArray("threads")).hasSize(2);
        assertThat(entry("stats-dump.img", 0).getAsJsonObject("dump").get("frozen_time").getAsInt()).isEqualTo(3400);
    }

    @Test
    void cryoReadsWhatCritEncodes() throws Exception {
        Path criuDir = Files.createDirectory(dir.resolve("from-crit"));
        // crit 3.17 cannot encode ipcns-shm (its handler base64-decodes a str: TypeError); decoding it works
        List<Sample> encodable = SampleImages.all().stream().filter(s -> s.kind() != ImageKind.IPCNS_SHM).toList();
        encodable.parallelStream().forEach(sample -> {
            try {
                Path json = Files.writeString(criuDir.resolve(sample.fileName() + ".json"),
                        decoded.get(sample.fileName()).toString());
                Crit.encode(json, criuDir.resolve(sample.fileName()));
                Files.delete(json);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        DirectoryImageStore criu = new DirectoryImageStore(criuDir);
        for (Sample sample : encodable) {
            assertThat(Files.readAllBytes(criuDir.resolve(sample.fileName())))
                    .as("%s re-encoded by crit is byte for byte cryo's", sample.fileName())
                    .isEqualTo(Files.readAllBytes(dir.resolve(sample.fileName())));
            try (EntryReader reader = criu.openReader(sample.fileName())) {
                List<Message> entries = new ArrayList<>();
                for (Message m; (m = reader.next()) != null; ) {
                    entries.add(m);
                }
                assertThat(entries).as(sample.fileName()).isEqualTo(sample.entries());
            }
        }
    }

    private static JsonObject entry(String image, int index) {
        return decoded.get(image).getAsJsonArray("entries").get(index).getAsJsonObject();
    }

    private static byte[] extra(String image, int index) {
        return Base64.getMimeDecoder().decode(entry(image, index).get("extra").getAsString());
    }
}
