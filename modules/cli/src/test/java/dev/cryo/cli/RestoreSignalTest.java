package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.parasite.Cancellation;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.testkit.Target;

/** SIGTERM to a cryo process in the middle of a restore: one line, non-zero, and no task of it left. */
class RestoreSignalTest {
    @TempDir
    Path work;

    @Test
    void sigtermMidRestoreOfA1GiBProcessKillsWhatItCreated() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        try (Target target = Target.start("rst_sink", work.resolve("t"), "1024", "fill")) {
            pid = target.pid();
            Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
        Process cryo = CryoProcess.cryo(work.resolve("cryo.out"), "restore", "-D", images.toString(), "-d", "-j").start();
        // Wait until the task exists (a traced puppet with its pid), so that the signal lands mid-restore.
        Path status = Path.of("/proc/" + pid + "/status");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(status) && cryo.isAlive() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(status).as("the restore created pid %d", pid).exists();
        List<Long> puppets = cryo.descendants().map(ProcessHandle::pid).toList();
        new ProcessBuilder("kill", "-TERM", Long.toString(cryo.pid())).start().waitFor();
        assertThat(cryo.waitFor(90, TimeUnit.SECONDS)).isTrue();
        List<String> out = Files.readString(work.resolve("cryo.out")).lines().filter(l -> !l.startsWith("WARNING")).toList();

        assertThat(cryo.exitValue()).isNotZero();
        assertThat(out).containsExactly("cryo: cannot restore from " + images + ": restore cancelled: cryo received a signal");
        assertThat(Path.of("/proc/" + pid)).as("the half-restored task").doesNotExist();
        for (long p : puppets) {
            assertThat(Path.of("/proc/" + p)).as("keeper or puppet %d", p).doesNotExist();
        }
    }
}
