package dev.cryo.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.PstreeEntry;

/**
 * The training run that {@code ./cryo} records its JDK AOT cache from at build time (JEP 483/514): the
 * commands people start most, with their output thrown away, so that their classes are loaded and linked
 * ahead of time. It changes nothing on the machine but a temporary directory that it removes.
 */
public final class AotTraining {
    private AotTraining() {}

    public static void main(String[] args) throws IOException {
        Path dir = Files.createTempDirectory("cryo-aot-training-");
        try {
            new DirectoryImageStore(dir).writeEntry(ImageKind.PSTREE,
                    PstreeEntry.newBuilder().setPid(1).setPpid(0).setPgid(1).setSid(1).addThreads(1).build());
            PrintWriter discard = new PrintWriter(Writer.nullWriter());
            for (List<String> line : List.of(
                    List.of("check"),
                    List.of("--help"),
                    List.of("dump", "--help"),
                    List.of("show", dir.resolve("pstree.img").toString()),
                    List.of("show", dir.resolve("missing.img").toString()),
                    List.of("dump", "--no-such-option"))) {
                Main.run(line.toArray(String[]::new), discard, discard);
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }
}
