package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

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
    void aMigrationServerKilledMidWayLeavesNothingOfItsOwn() throws Exception {
        // The server stops itself (SIGSTOP, cryo.stop-at) where its first restore, the rehearsal on its decoy, would
        // release the decoy's copy: its socket directory, its decoys and their images all exist then. It is killed there.
        try (ImageDaemonProcess s = ImageDaemonProcess.migrateServer(List.of("env", "JAVA_TOOL_OPTIONS=-Dcryo.stop-at=restore:release"),
                "127.0.0.1", 0, work, work.resolve("server.out"), "--pidns");
             Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            int server = (int) s.pid();
            int port = port(s);
            MainTest.Run[] migrate = new MainTest.Run[1];
            Thread source = new Thread(() -> migrate[0] = MainTest.cryo("migrate", "-t", Integer.toString(target.pid()),
                    "--to", "127.0.0.1:" + port, "--pre-copy", "8", "--timeout", "5", "-j"), "cryo-migrate");
            source.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (state(server) != 'T') {
                assertThat(System.nanoTime()).as("the server stops at its rehearsal's release").isLessThan(deadline);
                Thread.sleep(20);
            }
            assertThat(socketDirectories(server)).as("its socket directory, before").hasSize(1);
            assertThat(decoys(server)).as("its decoy's copy, before").isNotEmpty();
            killed(s);
            source.join();
            assertThat(migrate[0].errLines()).singleElement().asString().endsWith("; pid " + target.pid() + " runs on here");
            // its janitor and its restore's keeper clean up after it: nothing of it is left
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((!socketDirectories(server).isEmpty() || !decoys(server).isEmpty()) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(socketDirectories(server)).as("its socket directory, after").isEmpty();
            assertThat(decoys(server)).as("its decoys, after").isEmpty();
            assertThat(target.check()).as("the tree's own check").isEqualTo("PASS");
        }
    }

    /** The state letter of {@code pid} in /proc/PID/stat ('?' once it is gone). */
    private static char state(int pid) throws IOException {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (java.nio.file.NoSuchFileException e) {
            return '?';
        }
    }

    /** The socket directories of migration server {@code pid}, under its -D or the temporary directory. */
    private List<Path> socketDirectories(int pid) throws IOException {
        List<Path> found = new ArrayList<>();
        for (Path dir : List.of(work, Path.of(System.getProperty("java.io.tmpdir")))) {
            try (Stream<Path> all = Files.list(dir)) {
                all.filter(p -> p.getFileName().toString().startsWith("cryo-migrate-" + pid + "-")).forEach(found::add);
            }
        }
        return found;
    }

    /** Live processes whose environment marks them as the decoys of migration server {@code pid}'s rehearsal. */
    private static List<Integer> decoys(int pid) throws IOException {
        String mark = "CRYO_REHEARSAL_OF=" + pid;
        List<Integer> found = new ArrayList<>();
        try (Stream<Path> all = Files.list(Path.of("/proc"))) {
            for (Path p : all.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    String env = new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.ISO_8859_1);
                    if (List.of(env.split("\0")).contains(mark)) {
                        found.add(Integer.parseInt(p.getFileName().toString()));
                    }
                } catch (IOException gone) {
                    // ended meanwhile
                }
            }
        }
        return found;
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
