package dev.cryo.testkit;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A cryo daemon ({@code page-server}, {@code image-cache}...) as a process of its own: this JVM's java and class
 * path, which hold cryo's CLI, optionally behind a prefix such as {@code ip netns exec NS}. Its first line that
 * starts with {@code readyLine} says it is ready; everything else it prints (but the JVM's warnings) is kept in
 * {@code output}, copied whole by the time {@link #awaitEnd} returns.
 */
final class CliDaemon implements AutoCloseable {
    private final Process process;
    private final Path output;
    private final String role;
    private final String readyLine;
    private final CompletableFuture<String> firstLine = new CompletableFuture<>();
    /** Copies its output to {@code output}; ends at the process's end of output. */
    private final Thread reader;

    private CliDaemon(Process process, Path output, String role, String readyLine) {
        this.process = process;
        this.output = output;
        this.role = role;
        this.readyLine = readyLine;
        reader = new Thread(this::read, role.replace(' ', '-') + "-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code prefix... java ... dev.cryo.cli.Main args...}, its stdin /dev/null; returns at once. */
    static CliDaemon start(List<String> prefix, List<String> args, Path output, String role, String readyLine) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"), "dev.cryo.cli.Main"));
        cmd.addAll(args);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
            return new CliDaemon(p, output, role, readyLine);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", cmd), e);
        }
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            StringBuilder rest = new StringBuilder();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!firstLine.isDone() && line.startsWith(readyLine)) {
                    firstLine.complete(line);
                } else if (!line.startsWith("WARNING")) {
                    rest.append(line).append('\n');
                    Files.writeString(output, rest.toString());
                }
            }
            firstLine.completeExceptionally(new IllegalStateException("the " + role + " ended before it was ready: "
                    + rest.toString().strip()));
        } catch (IOException e) {
            firstLine.completeExceptionally(e);
        }
    }

    /** Waits until it is ready (60 s at most); returns its first line. */
    String ready() {
        try {
            return firstLine.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the " + role + " was not ready within 60 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Waits for it to end; null when it ended well, else its exit status and its last line. */
    String awaitEnd(long seconds) {
        try {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                return "the " + role + " still runs " + seconds + " s later";
            }
            reader.join(10_000); // its last lines on the way to the file
            if (process.exitValue() == 0) {
                return null;
            }
            String said = Files.exists(output) ? Files.readString(output).strip() : "";
            return "the " + role + " exited with " + process.exitValue() + ": " + said.lines().reduce((a, b) -> b).orElse("");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** What it printed after its first line. */
    String output() throws IOException {
        return Files.exists(output) ? Files.readString(output) : "";
    }

    Process process() {
        return process;
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
