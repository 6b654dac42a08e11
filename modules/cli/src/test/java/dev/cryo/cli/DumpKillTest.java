package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.cryo.testkit.Target;

/**
 * cryo killed in the middle of a dump, as an OOM kill or {@code timeout -s KILL} would: what it can still
 * clean up (a SIGTERM) it cleans up; what SIGKILL leaves in the images directory is refused by the next
 * dump, naming it; and the warm-up leaves nothing at all, however it is killed.
 */
class DumpKillTest {
    @TempDir
    Path work;

    private Process cryo(String... args) throws IOException {
        return CryoProcess.cryo(work.resolve("cryo.out"), args).start();
    }

    private static void await(String what, Process cryo, BooleanSupplier event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!event.getAsBoolean()) {
            assertThat(cryo.isAlive()).as("cryo is still running, before " + what).isTrue();
            assertThat(System.nanoTime()).as(what + " within 60 s").isLessThan(deadline);
            Thread.sleep(1);
        }
    }

    private static List<String> names(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static boolean writingPages(Path images) {
        return names(images).stream().anyMatch(n -> n.startsWith(".pages-") && n.endsWith(".tmp"));
    }

    /** As kill(1) sends it: Process.destroy would also close our end of its output. */
    private static void signal(Process p, String signal) throws Exception {
        new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).as("cryo ends after SIG" + signal).isTrue();
    }

    private static int tracer(int pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("TracerPid:")) {
                return Integer.parseInt(line.substring(10).trim());
            }
        }
        return 0;
    }

    /** SIGTERM while the pages image is being written: the dump unwinds and the directory is empty again. */
    @Test
    void sigtermWhilePagesAreWrittenLeavesTheDirectoryEmpty() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "1024", "2")) {
            Process cryo = cryo("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(), "-j", "--no-warm-up");
            await("a pages image is being written", cryo, () -> writingPages(images));
            signal(cryo, "TERM");

            assertThat(cryo.exitValue()).isNotZero();
            assertThat(names(images)).as("what the dump left").isEmpty();
            assertThat(tracer(target.pid())).as("nobody traces the target").isZero();
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    /**
     * SIGKILL while the pages image is being written leaves the temporary image and the run's mark, which
     * nothing could remove; the next dump into that directory refuses it, naming them, and touches nothing.
     */
    @Test
    void whatASigkilledDumpLeftIsRefusedByTheNextDump() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "1024", "2")) {
            Process cryo = cryo("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(), "-j", "--no-warm-up");
            await("a pages image is being written", cryo, () -> writingPages(images));
            signal(cryo, "KILL");
            List<String> left = names(images);
            assertThat(left).as("what SIGKILL left").contains(".cryo-dump").anyMatch(n -> n.startsWith(".pages-1.img."));

            MainTest.Run again = MainTest.cryo("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(), "-j");

            assertThat(again.exit()).isEqualTo(1);
            assertThat(again.errLines()).singleElement().asString().startsWith("cryo: cannot dump into " + images
                    + ": it holds what a dump that was killed left (cryo pid " + cryo.pid() + "): .cryo-dump, ")
                    .contains(".pages-1.img.").endsWith("; use an empty directory");
            assertThat(names(images)).as("the refused dump touched nothing").isEqualTo(left);
        }
    }

    /**
     * SIGKILL at several moments of the warm-up (decoy running, decoy traced, its images begun): its guard
     * kills the decoy's session and removes its images; the target, not frozen yet, runs on untouched.
     */
    @ParameterizedTest
    @ValueSource(strings = {"decoy running", "decoy traced", "decoy images begun"})
    void aSigkilledWarmUpLeavesNoDecoyAndNoImages(String moment) throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            Process cryo = cryo("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(), "-j");
            List<ProcessHandle> decoy = new ArrayList<>();
            await("the warm-up's decoy runs", cryo, () -> {
                decoy.clear();
                cryo.descendants().filter(p -> p.info().command().orElse("").endsWith("/sleep")).forEach(decoy::add);
                return decoy.size() == 2;
            });
            ProcessHandle decoyShell = decoy.getFirst().parent().orElseThrow();
            Path shm = Path.of("/dev/shm");
            String prefix = "cryo-warm-up-" + cryo.pid() + "-";
            switch (moment) {
                case "decoy traced" -> await("the decoy is traced", cryo, () -> {
                    try {
                        return tracer((int) decoyShell.pid()) != 0;
                    } catch (IOException e) {
                        return false;
                    }
                });
                case "decoy images begun" -> await("the decoy's dump claims its directory", cryo,
                        () -> names(shm).stream().filter(n -> n.startsWith(prefix))
                                .anyMatch(n -> Files.exists(shm.resolve(n).resolve(".cryo-dump"))));
                default -> { }
            }
            List<ProcessHandle> warmUp = new ArrayList<>(decoy);
            warmUp.add(decoyShell);
            cryo.children().forEach(warmUp::add); // the guard
            signal(cryo, "KILL");

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((warmUp.stream().anyMatch(DumpKillTest::running) || names(shm).stream().anyMatch(n -> n.startsWith(prefix)))
                    && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(warmUp.stream().filter(DumpKillTest::running).map(ProcessHandle::pid).toList())
                    .as("processes of the warm-up left running").isEmpty();
            assertThat(names(shm).stream().filter(n -> n.startsWith(prefix)).toList()).as("warm-up images left in /dev/shm").isEmpty();
            assertThat(tracer(target.pid())).as("nobody traces the target").isZero();
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    /** Alive and not a zombie. */
    private static boolean running(ProcessHandle p) {
        try {
            return p.isAlive() && !Files.readString(Path.of("/proc/" + p.pid() + "/stat")).matches("^\\d+ \\(.*\\) Z .*");
        } catch (IOException e) {
            return false;
        }
    }
}
