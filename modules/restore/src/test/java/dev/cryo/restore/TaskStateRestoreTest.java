package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * fds_state dumped and restored: umask, cwd, rlimits, an armed itimer, supplementary groups, and the
 * signals pending at dump (one to the thread, one with a value to the process) are there for its own check.
 */
class TaskStateRestoreTest {
    @TempDir
    Path work;

    @Test
    void dumpThenRestoreKeepsUmaskCwdRlimitsItimerGroupsAndPendingSignals() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        try (Target target = Target.start("fds_state", dir)) {
            pid = target.pid();
            Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed fds_state").isTrue();
        }
        try {
            RestoreStats stats = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
            assertThat(stats.rootPid()).isEqualTo(pid);
            assertThat(FdRestoreTest.check(pid, dir)).isEqualTo("PASS");
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }
}
