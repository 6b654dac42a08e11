package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.cryo.testkit.Target;

/** {@code cryo show} prints every image of a real dump as JSON, with the values that were dumped. */
class ShowTest {
    @TempDir
    Path work;

    @Test
    void everyImageOfADumpShowsAsJson() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "8", "2")) {
            MainTest.Run dump = MainTest.cryo("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(), "-j", "-R");
            assertThat(dump.exit()).as(dump.err()).isZero();
            List<Path> all;
            try (var s = Files.list(images)) {
                all = s.sorted().toList();
            }
            assertThat(all).hasSizeGreaterThan(8);
            for (Path image : all) {
                MainTest.Run show = MainTest.cryo("show", image.toString());
                assertThat(show.exit()).as(image + ": " + show.err()).isZero();
                JsonObject json = JsonParser.parseString(show.out()).getAsJsonObject();
                assertThat(json.has("magic")).as(image.toString()).isTrue();
            }
            JsonObject pstree = JsonParser.parseString(MainTest.cryo("show", images.resolve("pstree.img").toString()).out()).getAsJsonObject();
            assertThat(pstree.getAsJsonArray("entries").get(0).getAsJsonObject().get("pid").getAsInt()).isEqualTo(target.pid());
            assertThat(target.check()).isEqualTo("PASS");
        }
    }
}
