package dev.cryo.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code cryo page-server} as a process of its own ({@link CliDaemon}), optionally started through a prefix
 * such as {@code ip netns exec NS}. Its first line says where it listens; everything it prints after is kept
 * in {@code DIR/../NAME.page-server.out}, beside its directory.
 */
public final class PageServerProcess implements AutoCloseable {
    private final CliDaemon daemon;

    private PageServerProcess(CliDaemon daemon) {
        this.daemon = daemon;
    }

    /**
     * Starts {@code prefix... java ... cryo page-server -D dir --address address --port port options...}; returns
     * at once (see {@link #port}).
     */
    public static PageServerProcess start(List<String> prefix, Path dir, String address, int port, String... options) {
        List<String> args = new ArrayList<>(List.of("page-server", "-D", dir.toString(), "--address", address, "--port",
                Integer.toString(port)));
        args.addAll(List.of(options));
        Path output = dir.resolveSibling(dir.getFileName() + ".page-server.out");
        return new PageServerProcess(CliDaemon.start(prefix, args, output, "page server", "page server listening on "));
    }

    /** Waits until it listens (60 s at most) and returns its port. */
    public int port() {
        String line = daemon.ready();
        return Integer.parseInt(line.substring(line.lastIndexOf(':') + 1).trim());
    }

    /** Waits for it to end; returns null when it ended well, else its exit status and what it said. */
    public String awaitEnd(long seconds) {
        return daemon.awaitEnd(seconds);
    }

    /** What it printed after its first line. */
    public String output() throws IOException {
        return daemon.output();
    }

    public long pid() {
        return daemon.process().pid();
    }

    @Override
    public void close() {
        daemon.close();
    }
}
