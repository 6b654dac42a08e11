package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/** {@code cryo restore} on the command line: -d, --pidns beside the original, and a taken pid. */
class RestoreCommandTest {
    @TempDir
    Path work;

    @Test
    void aLeaveRunningDumpRestoresBesideItsOriginalWithPidnsAndNotWithoutIt() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("rst_tree", dir, "8", "1")) {
            int pid = target.pid();
            MainTest.Run dump = MainTest.cryo("dump", "-t", Integer.toString(pid), "-D", images.toString(), "-R");
            assertThat(dump.exit()).as(dump.err()).isZero();

            MainTest.Run taken = MainTest.cryo("restore", "-D", images.toString(), "-d", "-j");
            assertThat(taken.exit()).isEqualTo(1);
            assertThat(taken.errLines()).singleElement().asString().contains("pid " + pid + " is taken (by rst_tree)");

            MainTest.Run run = MainTest.cryo("restore", "-D", images.toString(), "-d", "-j", "--pidns");
            assertThat(run.exit()).as(run.err()).isZero();
            String said = run.out().trim();
            assertThat(said).startsWith("restored pid ");
            int host = Integer.parseInt(said.split(" ")[2].replace(":", ""));
            List<Integer> restored = new ArrayList<>(List.of(host));
            try {
                String status = Files.readString(Path.of("/proc/" + host + "/status"));
                assertThat(status).containsPattern("NSpid:\\s+" + host + "\\s+" + pid + "\\n");
                restored.add(ppid(host)); // the namespace's init
                assertThat(target.check()).as("the original runs on").isEqualTo("PASS");
            } finally {
                for (int p : restored) {
                    Signals.kill(p, Kernel.SIGKILL);
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                for (int p : restored) {
                    while (Files.exists(Path.of("/proc/" + p)) && System.nanoTime() < deadline) {
                        Thread.sleep(10);
                    }
                }
            }
        }
    }

    private static int ppid(int pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    }
}
