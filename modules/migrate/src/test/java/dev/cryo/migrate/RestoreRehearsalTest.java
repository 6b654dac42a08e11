package dev.cryo.migrate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The destination's rehearsal for post-copy after pre-copy: its decoy's images given the many runs of a final dump
 * after pre-copy ({@link PreCopyShape}), the lazy restore still runs up to its release, and nothing of it stays.
 */
class RestoreRehearsalTest {
    @TempDir
    Path work;

    @Test
    void aLazyRehearsalOnPreCopysManyRunsReachesTheReleaseAndLeavesNothing() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        RestoreRehearsal.run(work, true, true, log::add);
        assertThat(log).as("the rehearsal's log").anyMatch(l -> l.startsWith("restore rehearsed on a decoy"))
                .noneMatch(l -> l.contains("failed") || l.contains("cannot remove"));
        try (Stream<Path> left = Files.list(work)) {
            assertThat(left).as("what the rehearsal made in its directory").isEmpty();
        }
        // the copy is killed on the restore's way out, the decoy by its guard: both may take a moment to go
        List<Long> running = decoysRunning();
        for (long deadline = System.nanoTime() + 10_000_000_000L; !running.isEmpty() && System.nanoTime() < deadline; ) {
            Thread.sleep(20); // polling /proc: no event says that a process of another parent has gone
            running = decoysRunning();
        }
        assertThat(running).as("decoys of this JVM's rehearsal still running").isEmpty();
    }

    /** The live processes whose environment names this JVM's rehearsal (a killed decoy that nobody reaps has none). */
    private static List<Long> decoysRunning() throws IOException {
        String mark = RestoreRehearsal.MARK + "=" + ProcessHandle.current().pid();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).filter(p -> {
                try {
                    return List.of(Files.readString(p.resolve("environ")).split("\0")).contains(mark);
                } catch (IOException | RuntimeException gone) {
                    return false;
                }
            }).map(p -> Long.parseLong(p.getFileName().toString())).toList();
        }
    }
}
