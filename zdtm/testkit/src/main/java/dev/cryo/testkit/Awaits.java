package dev.cryo.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Waiting for a state in /proc that a test expects, instead of sleeping for a guess. */
public final class Awaits {
    private Awaits() {}

    /**
     * The mappings of {@code pid} (/proc/PID/maps) once they are {@code expected}, or as they are after 10 s:
     * a thread that cryo left in its parasite's code cures itself once it runs again, which on a busy
     * machine is not at once.
     */
    public static String maps(int pid, String expected) {
        Path maps = Path.of("/proc/" + pid + "/maps");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try {
            String now = Files.readString(maps);
            while (!now.equals(expected) && System.nanoTime() < deadline) {
                Thread.sleep(5);
                now = Files.readString(maps);
            }
            return now;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
