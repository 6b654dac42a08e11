package dev.cryo.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code cryo image-cache}, {@code cryo image-proxy} or {@code cryo migrate-server} as a process of its own ({@link CliDaemon}), optionally
 * started through a prefix such as {@code ip netns exec NS}. Its first line says where it listens (the cache)
 * or that it is connected (the proxy); everything it prints after is kept in {@code OUTPUT}.
 *
 * <pre>{@code
 * try (ImageDaemonProcess cache = ImageDaemonProcess.cache(hosts.inServer(), "10.199.0.1", 27100, sock, out)) {
 *     int port = cache.port();
 * }
 * }</pre>
 */
public final class ImageDaemonProcess implements AutoCloseable {
    private final CliDaemon daemon;

    private ImageDaemonProcess(CliDaemon daemon) {
        this.daemon = daemon;
    }

    /** {@code prefix... cryo image-cache --address A --port P --local-socket SOCK options...}; returns at once. */
    public static ImageDaemonProcess cache(List<String> prefix, String address, int port, Path socket, Path output, String... options) {
        return start(prefix, "image-cache", address, port, socket, output, "image cache", options);
    }

    /** {@code prefix... cryo image-proxy --address A --port P --local-socket SOCK options...}; returns at once. */
    public static ImageDaemonProcess proxy(List<String> prefix, String address, int port, Path socket, Path output, String... options) {
        return start(prefix, "image-proxy", address, port, socket, output, "image proxy", options);
    }

    /**
     * {@code prefix... cryo migrate-server --address A --port P -D DIR options...} (live migration's destination, whose
     * first line says where it listens, and whose last says which pid it restored); returns at once.
     */
    public static ImageDaemonProcess migrateServer(List<String> prefix, String address, int port, Path dir, Path output, String... options) {
        List<String> args = new ArrayList<>(List.of("migrate-server", "--address", address, "--port", Integer.toString(port),
                "-D", dir.toString()));
        args.addAll(List.of(options));
        return new ImageDaemonProcess(CliDaemon.start(prefix, args, output, "migration server", "migration server "));
    }

    private static ImageDaemonProcess start(List<String> prefix, String command, String address, int port, Path socket,
                                            Path output, String role, String... options) {
        List<String> args = new ArrayList<>(List.of(command, "--address", address, "--port", Integer.toString(port),
                "--local-socket", socket.toString()));
        args.addAll(List.of(options));
        return new ImageDaemonProcess(CliDaemon.start(prefix, args, output, role, role + " "));
    }

    /** Waits until it listens or is connected (60 s at most); returns its first line. */
    public String ready() {
        return daemon.ready();
    }

    /** The TCP port a cache listens on, from its first line. */
    public int port() {
        String line = ready();
        String address = line.substring(line.indexOf(" on ") + 4, line.indexOf(", local socket"));
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }

    /** Waits for it to end; returns null when it ended well, else its exit status and its last line. */
    public String awaitEnd(long seconds) {
        return daemon.awaitEnd(seconds);
    }

    /** What it printed after its first line. */
    public String output() throws IOException {
        return daemon.output();
    }

    public boolean isAlive() {
        return daemon.process().isAlive();
    }

    public long pid() {
        return daemon.process().pid();
    }

    /** SIGTERM, as a user stops it. */
    public void terminate() {
        daemon.process().destroy();
    }

    @Override
    public void close() {
        daemon.close();
    }
}
