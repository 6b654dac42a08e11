package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs CRIU's tools from Debian's criu package, the judges of wire compatibility. */
final class Crit {
    static final Path CRIT = Path.of("/usr/bin/crit");
    static final Path PYTHON = Path.of("/usr/bin/python3");

    private Crit() {}

    /** Fails (never skips) when CRIU's tools are missing: compatibility is not optional. */
    static void requireInstalled() {
        if (!Files.isExecutable(CRIT) || !Files.isDirectory(Path.of("/usr/lib/python3/dist-packages/pycriu"))) {
            fail("crit (CRIU's image tool) is not installed at " + CRIT + ": apt-get install criu");
        }
    }

    /** {@code crit decode -i image}: the image as crit's JSON. */
    static String decode(Path image) {
        return run(CRIT.toString(), "decode", "-i", image.toString());
    }

    /** {@code crit encode -i json -o image}: crit's binary for crit's JSON. */
    static void encode(Path json, Path image) {
        run(CRIT.toString(), "encode", "-i", json.toString(), "-o", image.toString());
    }

    static String run(String... command) {
        try {
            Path err = Files.createTempFile("crit", ".err");
            try {
                Process process = new ProcessBuilder(new ArrayList<>(List.of(command)))
                        .redirectError(err.toFile()).start();
                process.getOutputStream().close();
                String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s finished", String.join(" ", command)).isTrue();
                assertThat(process.exitValue())
                        .as("exit status of %s; stderr:%n%s%nstdout:%n%s", String.join(" ", command), Files.readString(err), out)
                        .isZero();
                return out;
            } finally {
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
