package dev.cryo.migrate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The private directory (0700) of one migration's unix sockets on the destination (the image cache's, the lazy-pages
 * daemon's), named {@code cryo-migrate-PID-...} after the server's process. It is made under the server's own
 * directory when the sockets' paths fit there (a unix socket's path is 107 bytes at most), else under the system's
 * temporary directory. It goes on {@link #close}, and should this JVM be killed first (SIGKILL runs no cleanup), a
 * janitor removes it: a shell, this JVM's child, that waits on a pipe from it and removes the directory once the
 * pipe closes, which it does when this JVM ends, however it ends.
 */
final class SocketDirectory implements AutoCloseable {
    /** The longest name put in it: the lazy-pages daemon's socket under its temporary name, {@code .lazy-pages.sock.PID.tmp}. */
    private static final int LONGEST_NAME = 28;
    private static final int SUN_PATH = 107;

    private final Path path;
    private final Process janitor;
    private final Consumer<String> log;

    private SocketDirectory(Path path, Process janitor, Consumer<String> log) {
        this.path = path;
        this.janitor = janitor;
        this.log = log;
    }

    /** Makes the directory under {@code dir} or the temporary directory, and its janitor. */
    static SocketDirectory make(Path dir, Consumer<String> log) throws IOException {
        String prefix = "cryo-migrate-" + ProcessHandle.current().pid() + "-";
        Path base = dir.toAbsolutePath().normalize();
        // createTempDirectory adds at most 20 characters (a long's digits) to the prefix
        if (base.toString().length() + 1 + prefix.length() + 20 + 1 + LONGEST_NAME > SUN_PATH) {
            base = Path.of(System.getProperty("java.io.tmpdir"));
        }
        Path path = Files.createTempDirectory(base, prefix);
        Process janitor;
        try {
            janitor = new ProcessBuilder("sh", "-c", "read x; rm -rf -- \"$0\"", path.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            Files.deleteIfExists(path);
            throw e;
        }
        return new SocketDirectory(path, janitor, log);
    }

    Path path() {
        return path;
    }

    Path resolve(String name) {
        return path.resolve(name);
    }

    /** Removes the directory with what is left in it (sockets), then lets the janitor go. */
    @Override
    public void close() {
        try (Stream<Path> left = Files.list(path)) {
            for (Path p : left.toList()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(path);
        } catch (IOException | UncheckedIOException e) {
            log.accept("cannot remove " + path + ": " + e.getMessage() + " (its janitor will)");
        }
        try {
            janitor.getOutputStream().close();
            if (!janitor.waitFor(10, TimeUnit.SECONDS)) {
                janitor.destroyForcibly();
            }
        } catch (IOException e) {
            janitor.destroyForcibly();
        } catch (InterruptedException e) {
            janitor.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
