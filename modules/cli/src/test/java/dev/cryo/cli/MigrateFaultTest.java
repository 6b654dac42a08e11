package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.parasite.StopPoints;
import dev.cryo.testkit.ImageDaemonProcess;
import dev.cryo.testkit.Target;

/**
 * {@code cryo migrate} when the destination fails before the point of no return: killed during pre-copy, killed
 * during the final dump (the tree frozen), or its restore failing. Each ends with one line that says the tree
 * runs on at the source, and the tree there running, untraced and intact (its own check of its memory, files,
 * pipe, threads and child).
 */
class MigrateFaultTest {
    @TempDir
    Path work;

    @AfterEach
    void stopWatching() {
        StopPoints.watch(null);
    }

    /** A migration server on loopback, its -D the test's directory (short: its sockets go there, and go with it). */
    private ImageDaemonProcess server(String... options) {
        ImageDaemonProcess s = ImageDaemonProcess.migrateServer(List.of(), "127.0.0.1", 0, work, work.resolve("server.out"), options);
        s.ready();
        return s;
    }

    private static int port(ImageDaemonProcess s) {
        String line = s.ready();
        return Integer.parseInt(line.substring(line.lastIndexOf(':') + 1).strip());
    }

    private static void killed(ImageDaemonProcess s) {
        try {
            new ProcessBuilder("kill", "-KILL", Long.toString(s.pid())).start().waitFor();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void assertRunsOnIntact(Target target, MainTest.Run migrate) throws Exception {
        assertThat(migrate.exit()).isEqualTo(1);
        assertThat(migrate.errLines()).singleElement().asString()
                .startsWith("cryo: cannot migrate pid " + target.pid() + ": ")
                .endsWith("; pid " + target.pid() + " runs on here");
        assertThat(MigrateFaultTestSupport.tracer(target.pid())).as("nobody traces the tree").isZero();
        assertThat(target.check()).as("the tree's own check").isEqualTo("PASS");
    }

    @Test
    void theDestinationKilledDuringPreCopyLeavesTheTreeRunningHere() throws Exception {
        try (ImageDaemonProcess s = server("--pidns"); Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            AtomicInteger released = new AtomicInteger();
            // the second pre-dump released (the warm-up's decoy and the first round, or the first two rounds): a round is due
            StopPoints.watch(point -> {
                if (point.equals("released") && released.incrementAndGet() == 2) {
                    killed(s);
                }
            });
            MainTest.Run migrate = MainTest.cryo("migrate", "-t", Integer.toString(target.pid()), "--to", "127.0.0.1:" + port(s),
                    "--pre-copy", "3", "-j");
            StopPoints.watch(null);
            assertThat(released.get()).as("pre-dumps released").isGreaterThanOrEqualTo(2);
            assertThat(migrate.errLines()).singleElement().asString().contains(": pre-copy round ");
            assertRunsOnIntact(target, migrate);
        }
    }

    @Test
    void theDestinationKilledDuringTheFinalDumpLeavesTheTreeRunningHere() throws Exception {
        try (ImageDaemonProcess s = server("--pidns"); Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            AtomicInteger pages = new AtomicInteger();
            // after the first process's pages of the final dump, the tree frozen (not the warm-up's decoy: the tree is traced)
            StopPoints.watch(point -> {
                if (point.equals("pages") && MigrateFaultTestSupport.tracer(target.pid()) != 0 && pages.incrementAndGet() == 1) {
                    killed(s);
                }
            });
            MainTest.Run migrate = MainTest.cryo("migrate", "-t", Integer.toString(target.pid()), "--to", "127.0.0.1:" + port(s),
                    "--pre-copy", "1", "-j");
            StopPoints.watch(null);
            assertThat(pages.get()).as("the final dump reached its pages").isPositive();
            assertRunsOnIntact(target, migrate);
        }
    }

    @Test
    void aRestoreThatFailsOnTheDestinationLeavesTheTreeRunningHereAndNothingThere() throws Exception {
        // without --pidns, on this one machine the restore finds the tree's pids taken by the frozen original
        try (ImageDaemonProcess s = server(); Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            MainTest.Run migrate = MainTest.cryo("migrate", "-t", Integer.toString(target.pid()), "--to", "127.0.0.1:" + port(s),
                    "--pre-copy", "0", "-j");
            assertThat(migrate.errLines()).singleElement().asString().contains("the restore on the destination failed: ");
            assertRunsOnIntact(target, migrate);
            String ended = s.awaitEnd(30);
            assertThat(ended).as("the server's end").startsWith("the migration server exited with 1: cryo: the restore failed: ")
                    .endsWith("; the tree runs on at the source");
        }
    }
}
