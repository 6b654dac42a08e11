package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    /**
     * zdtm/programs/dumpable.c drops root for nobody (both threads), dumpable or not: restored by root, it is
     * as dumpable as it was: /proc/PID/maps belongs to nobody (to root when not dumpable), and nobody may read its
     * maps exactly when it could before the dump.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 0})
    void aProcessThatDroppedRootComesBackAsDumpableAsItWas(int dumpable) throws Exception {
        // nobody writes its verdict into DIR, below this test's own directory
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        String ownerBefore;
        boolean readableBefore;
        try (Target target = Target.start("dumpable", dir, Integer.toString(dumpable))) {
            pid = target.pid();
            ownerBefore = owner(pid);
            readableBefore = nobodyReadsMaps(pid);
            Dumper.dump(DumpOptions.of(pid, images), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed dumpable").isTrue();
        }
        try {
            Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation());
            assertThat(ownerBefore).as("owner of /proc/PID/maps at dump").isEqualTo(dumpable == 1 ? "nobody" : "root");
            assertThat(readableBefore).as("nobody reads the maps at dump").isEqualTo(dumpable == 1);
            assertThat(owner(pid)).as("owner of /proc/PID/maps after restore").isEqualTo(ownerBefore);
            assertThat(nobodyReadsMaps(pid)).as("nobody reads the maps after restore").isEqualTo(readableBefore);
            assertThat(FdRestoreTest.verdict(pid, dir)).isEqualTo("PASS");
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }

    private static String owner(int pid) throws Exception {
        // the files of a task that is not dumpable belong to root (task_dump_owner); /proc/PID itself never does
        return Files.getOwner(Path.of("/proc/" + pid + "/maps"), LinkOption.NOFOLLOW_LINKS).getName();
    }

    /** Whether a process of user nobody can read /proc/PID/maps (only if the task is nobody's and dumpable). */
    private static boolean nobodyReadsMaps(int pid) throws Exception {
        Process cat = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "cat", "/proc/" + pid + "/maps").redirectErrorStream(true).start();
        String out = new String(cat.getInputStream().readAllBytes());
        return cat.waitFor() == 0 && out.contains("[stack]");
    }
}
