package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.testkit.Target;

/** SIGTERM to a cryo process in the middle of a dump: the target runs on, intact, and no image is left. */
class DumpSignalTest {
    @TempDir
    Path work;

    @Test
    void sigtermMidDumpOfA1GiBTargetLeavesItRunningAndIntact() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "1024", "4")) {
            Process cryo = CryoProcess.cryo(work.resolve("cryo.out"), "dump", "-t", Integer.toString(target.pid()),
                    "-D", images.toString(), "-j").start();
            // Wait until the tree is frozen (traced), so that the signal lands in the middle of the dump: at once,
            // since writing 1 GiB of pages takes far longer than kill(1) does to start (a sleep here only
            // narrowed that margin).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (tracer(target.pid()) == 0 && cryo.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(tracer(target.pid())).as("cryo seized the target").isNotZero();
            // SIGTERM as kill(1) sends it (Process.destroy would also close our end of its output)
            new ProcessBuilder("kill", "-TERM", Long.toString(cryo.pid())).start().waitFor();
            assertThat(cryo.waitFor(90, TimeUnit.SECONDS)).isTrue();
            List<String> out = Files.readString(work.resolve("cryo.out")).lines()
                    .filter(l -> !l.startsWith("WARNING")).toList();

            assertThat(cryo.exitValue()).isNotZero();
            assertThat(out).containsExactly("cryo: cannot dump pid " + target.pid()
                    + ": dump cancelled: cryo received a signal; pid " + target.pid() + " was released");
            assertThat(tracer(target.pid())).as("nobody traces the target").isZero();
            try (var s = Files.list(images)) {
                assertThat(s.toList()).as("images left").isEmpty();
            }
            assertThat(target.check()).as("the target's own check of its 1 GiB, files, pipe, threads and child").isEqualTo("PASS");
        }
    }

    private static int tracer(int pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("TracerPid:")) {
                return Integer.parseInt(line.substring(10).trim());
            }
        }
        return 0;
    }
}
