package dev.cryo.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Compiles the C programs of {@code zdtm/programs} with gcc, once, into {@code target/zdtm-bin}. */
public final class Programs {
    private Programs() {}

    /** The repository's top directory: the first parent of the working directory that holds {@code zdtm/programs}. */
    public static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("zdtm/programs"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find zdtm/programs above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    /** The newest modification time of the source and of the headers beside it (zdtmlib.h, ...), which it may include. */
    private static java.nio.file.attribute.FileTime newestInput(Path source) throws IOException {
        java.nio.file.attribute.FileTime newest = Files.getLastModifiedTime(source);
        try (var headers = Files.newDirectoryStream(source.getParent(), "*.h")) {
            for (Path h : headers) {
                java.nio.file.attribute.FileTime t = Files.getLastModifiedTime(h);
                if (t.compareTo(newest) > 0) {
                    newest = t;
                }
            }
        }
        return newest;
    }

    /** The executable built from {@code zdtm/programs/NAME.c}, rebuilt when the source or a header beside it is newer. */
    public static synchronized Path build(String name) {
        Path root = repoRoot();
        Path source = root.resolve("zdtm/programs/" + name + ".c");
        Path out = root.resolve("target/zdtm-bin/" + name);
        try {
            if (!Files.exists(source)) {
                throw new IllegalArgumentException("no test program " + source);
            }
            if (Files.exists(out) && Files.getLastModifiedTime(out).compareTo(newestInput(source)) >= 0) {
                return out;
            }
            Files.createDirectories(out.getParent());
            Path tmp = out.resolveSibling(name + ".tmp");
            Process gcc = new ProcessBuilder(List.of("gcc", "-O2", "-g", "-Wall", "-pthread", "-o", tmp.toString(), source.toString()))
                    .redirectErrorStream(true).start();
            String log = new String(gcc.getInputStream().readAllBytes());
            if (!gcc.waitFor(120, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
                throw new IllegalStateException("gcc failed on " + source + ":\n" + log);
            }
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
