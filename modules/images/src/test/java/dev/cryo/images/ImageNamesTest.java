package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ImageNamesTest {
    @TempDir
    static Path tmp;

    static Stream<Arguments> badNames() {
        return Stream.of(
                Arguments.of("..", "\"..\""),
                Arguments.of("../core-1.img", "'/'"),
                Arguments.of("a..b", "\"..\""),
                Arguments.of("sub/core-1.img", "'/'"),
                Arguments.of("/etc/passwd", "'/'"),
                Arguments.of("core\0.img", "NUL"),
                Arguments.of("", "empty"),
                Arguments.of(".hidden", "'.'"),
                Arguments.of("x".repeat(201), "longer"));
    }

    @ParameterizedTest(name = "\"{0}\"")
    @MethodSource("badNames")
    void everyStoreOperationRejectsBadNames(String name, String reason) throws Exception {
        ImageStore directory = new DirectoryImageStore(Files.createTempDirectory(tmp, "names"));
        List<Consumer<ImageStore>> operations = List.of(
                s -> s.openRawWriter(name), s -> s.openRawReader(name), s -> s.exists(name),
                s -> s.delete(name), s -> s.pathOf(name), s -> s.openReader(name));
        for (ImageStore store : List.of(directory, new MemoryImageStore())) {
            for (Consumer<ImageStore> operation : operations) {
                assertThatThrownBy(() -> operation.accept(store))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining(name.replace("\0", "\\0"))
                        .hasMessageContaining(reason);
            }
        }
    }

    @Test
    void nothingIsCreatedOutsideTheDirectory() throws Exception {
        Path parent = Files.createTempDirectory(tmp, "outside");
        Path images = Files.createDirectory(parent.resolve("images"));
        DirectoryImageStore store = new DirectoryImageStore(images);
        assertThatThrownBy(() -> store.openRawWriter("../escaped.img")).isInstanceOf(IllegalArgumentException.class);
        try (Stream<Path> files = Files.list(parent)) {
            assertThat(files).containsExactly(images);
        }
    }

    @Test
    void criuNamesAreAccepted() {
        MemoryImageStore store = new MemoryImageStore();
        for (String name : List.of("core-1.img", "pages-12.img", "ghost-file-1f.img", "stats-dump.img", "parent")) {
            assertThat(store.exists(name)).isFalse();
        }
    }
}
