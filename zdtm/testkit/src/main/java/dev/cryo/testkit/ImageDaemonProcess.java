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
 * {@code cryo image-cache}, {@code cryo image-proxy} or {@code cryo migrate-server} as a process of its own (this JVM's java and class path,
 * which hold cryo's CLI), optionally started through a prefix such as {@code ip netns exec NS}. Its first line
 * says where it listens (the cache) or that it is connected (the proxy); everything it prints after is kept
 * in {@code OUTPUT}.
 *
 * <pre>{@code
 * try (ImageDaemonProcess cache = ImageDaemonProcess.cache(hosts.inServer(), "10.199.0.1", 27100, sock, out)) {
 *     int port = cache.port();
 * }
 * }</pre>
 */
public final class ImageDaemonProcess implements AutoCloseable {
    private final Process process;
    private final Path output;
    private final String role;
    private final CompletableFuture<String> firstLine = new CompletableFuture<>();

    private ImageDaemonProcess(Process process, Path output, String role) {
        this.process = process;
        this.output = output;
        this.role = role;
        Thread reader = new Thread(this::read, role + "-output-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** {@code prefix... cryo image-cache --address A --port P --local-socket SOCK options...}; returns at once. */
    public static ImageDaemonProcess cache(List<String> prefix, String address, int port, Path socket, Path output, String... options) {
        List<String> args = new ArrayList<>(List.of("image-cache", "--address", address, "--port", Integer.toString(port),
                "--local-socket", socket.toString()));
        args.addAll(List.of(options));
        return start(prefix, args, output, "image cache");
    }

    /** {@code prefix... cryo image-proxy --address A --port P --local-socket SOCK options...}; returns at once. */
    public static ImageDaemonProcess proxy(List<String> prefix, String address, int port, Path socket, Path output, String... options) {
        List<String> args = new ArrayList<>(List.of("image-proxy", "--address", address, "--port", Integer.toString(port),
                "--local-socket", socket.toString()));
        args.addAll(List.of(options));
        return start(prefix, args, output, "image proxy");
    }

    /**
     * {@code prefix... cryo migrate-server --address A --port P -D DIR options...} (live migration's destination, whose
     * first line says where it listens, and whose last says which pid it restored); returns at once.
     */
    public static ImageDaemonProcess migrateServer(List<String> prefix, String address, int port, Path dir, Path output, String... options) {
        List<String> args = new ArrayList<>(List.of("migrate-server", "--address", address, "--port", Integer.toString(port),
                "-D", dir.toString()));
        args.addAll(List.of(options));
        return start(prefix, args, output, "migration server");
    }

    private static ImageDaemonProcess start(List<String> prefix, List<String> args, Path output, String role) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"), "dev.cryo.cli.Main"));
        cmd.addAll(args);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            return new ImageDaemonProcess(p, output, role);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", cmd), e);
        }
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            StringBuilder rest = new StringBuilder();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!firstLine.isDone() && line.startsWith(role + " ")) {
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

    /** Waits until it listens or is connected (60 s at most); returns its first line. */
    public String ready() {
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

    /** The TCP port a cache listens on, from its first line. */
    public int port() {
        String line = ready();
        String address = line.substring(line.indexOf(" on ") + 4, line.indexOf(", local socket"));
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }

    /** Waits for it to end; returns null when it ended well, else its exit status and its last line. */
    public String awaitEnd(long seconds) {
        try {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                return "the " + role + " still runs " + seconds + " s later";
            }
            if (process.exitValue() == 0) {
                return null;
            }
            Thread.sleep(50); // its last line on the way to the reader
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
    public String output() throws IOException {
        return Files.exists(output) ? Files.readString(output) : "";
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** SIGTERM, as a user stops it. */
    public void terminate() {
        process.destroy();
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
