package dev.cryo.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the migration fault tests look at in /proc. */
final class MigrateFaultTestSupport {
    private MigrateFaultTestSupport() {}

    /** The pid tracing {@code pid}, 0 when none (or when it is gone). */
    static int tracer(int pid) {
        try {
            return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("TracerPid:"))
                    .mapToInt(l -> Integer.parseInt(l.substring(10).strip())).findFirst().orElse(0);
        } catch (IOException e) {
            return 0;
        }
    }
}
