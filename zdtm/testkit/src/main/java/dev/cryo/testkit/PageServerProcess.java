package dev.cryo.testkit;

import java.io.BufferedReader;
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
 * {@code cryo page-server} as a process of its own (this JVM's java and class path, which hold cryo's CLI),
 * optionally started through a prefix such as {@code ip netns exec NS}. Its first line says where it listens;
 * everything it prints after is kept in {@code DIR/../NAME.out}, beside its directory.
 */
public final class PageServerProcess implements AutoCloseable {
    private final Process process;
    private final Path output;
    private final CompletableFuture<String> firstLine = new CompletableFuture<>();
    /** Copies its output to {@code output}; ends at the process's end of output. */
    private final Thread reader;

    private PageServerProcess(Process process, Path output) {
        this.process = process;
        this.output = output;
        reader = new Thread(this::read, "page-server-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Starts {@code prefix... java ... cryo page-server -D dir --address address --port port options...}; returns
     * at once (see {@link #port}).
     */
    public static PageServerProcess start(List<String> prefix, Path dir, String address, int port, String... options) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "dev.cryo.cli.Main",
                "page-server", "-D", dir.toString(), "--address", address, "--port", Integer.toString(port)));
        cmd.addAll(List.of(options));
        Path output = dir.resolveSibling(dir.getFileName() + ".page-server.out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            return new PageServerProcess(p, output);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", cmd), e);
        }
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            StringBuilder rest = new StringBuilder();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!firstLine.isDone() && line.startsWith("page server listening on ")) {
                    firstLine.complete(line);
                } else if (!line.startsWith("WARNING")) {
                    rest.append(line).append('\n');
                    Files.writeString(output, rest.toString());
                }
            }
            firstLine.completeExceptionally(new IllegalStateException("the page server ended before it listened: "
                    + rest.toString().strip()));
        } catch (IOException e) {
            firstLine.completeExceptionally(e);
        }
    }

    /** Waits until it listens (60 s at most) and returns its port. */
    public int port() {
        try {
            String line = firstLine.get(60, TimeUnit.SECONDS);
            return Integer.parseInt(line.substring(line.lastIndexOf(':') + 1).trim());
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the page server did not listen within 60 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Waits for it to end; returns null when it ended well, else its exit status and what it said. */
    public String awaitEnd(long seconds) {
        try {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                return "the page server still runs " + seconds + " s after the dump";
            }
            reader.join(10_000); // its last lines on the way to the file
            if (process.exitValue() == 0) {
                return null;
            }
            String said = Files.exists(output) ? Files.readString(output).strip() : "";
            return "the page server exited with " + process.exitValue() + ": " + said.lines().reduce((a, b) -> b).orElse("");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** What it printed after its first line. */
    public String output() throws IOException {
        return Files.exists(output) ? Files.readString(output) : "";
    }

    public long pid() {
        return process.pid();
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
