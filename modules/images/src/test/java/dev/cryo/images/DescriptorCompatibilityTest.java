package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.FileDescriptor;
import dev.cryo.images.proto.FdinfoProto;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every message and enum in cryo's .proto files has CRIU's field numbers,
 * names, types, labels and values, checked against the descriptors that
 * crit itself uses (wider than the sample images can cover).
 */
class DescriptorCompatibilityTest {
    @TempDir
    Path dir;

    @Test
    void everyMessageMatchesCriusDescriptor() throws Exception {
        Crit.requireInstalled();
        Map<String, FileDescriptor> files = allProtoFiles();
        try (Stream<Path> sources = Files.list(Path.of("src/main/proto"))) {
            assertThat(files.keySet()).as("every .proto file is reachable from the image kinds")
                    .containsExactlyInAnyOrderElementsOf(sources.map(p -> p.getFileName().toString()).toList());
        }
        FileDescriptorSet.Builder set = FileDescriptorSet.newBuilder();
        files.values().forEach(f -> set.addFile(f.toProto()));
        Path descriptors = dir.resolve("cryo.pb");
        Files.write(descriptors, set.build().toByteArray());
        Path script = dir.resolve("compare_with_criu.py");
        try (InputStream in = getClass().getResourceAsStream("compare_with_criu.py")) {
            Files.copy(in, script);
        }
        String report = Crit.run(Crit.PYTHON.toString(), script.toString(), descriptors.toString());
        assertThat(report).contains(", 0 differences");
    }

    private static Map<String, FileDescriptor> allProtoFiles() {
        Map<String, FileDescriptor> files = new LinkedHashMap<>();
        Deque<FileDescriptor> todo = new ArrayDeque<>();
        todo.add(FdinfoProto.getDescriptor());
        for (ImageKind kind : ImageKind.values()) {
            if (!kind.isRaw()) {
                todo.add(kind.entryType(0).getFile());
                todo.add(kind.entryType(1).getFile());
            }
        }
        while (!todo.isEmpty()) {
            FileDescriptor file = todo.pop();
            if (files.putIfAbsent(file.getName(), file) == null) {
                todo.addAll(file.getDependencies());
            }
        }
        return files;
    }
}
