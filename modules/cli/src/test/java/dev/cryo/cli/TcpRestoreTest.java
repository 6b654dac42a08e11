package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.NetworkLock;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/**
 * A restore of established connections without --tcp-established is refused in one line before anything is
 * started, and leaves the dump's lock: the peer outside the tree waits, and the restore with the option,
 * tried again, brings the connection back to it.
 */
class TcpRestoreTest {
    @TempDir
    Path work;

    @Test
    void aRefusedRestoreLeavesTheLockAndCanBeTriedAgain() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target t = Target.start("tcp_external", work.resolve("t"))) {
            int pid = t.pid();
            MainTest.Run dump = MainTest.cryo("dump", "-t", Integer.toString(pid), "-D", images.toString(), "--tcp-established");
            assertThat(dump.exit()).as(dump.err()).isZero();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (Files.exists(Path.of("/proc/" + pid)) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }

            MainTest.Run refused = MainTest.cryo("restore", "-D", images.toString(), "-d");
            assertThat(refused.exit()).isEqualTo(1);
            assertThat(refused.errLines()).singleElement().asString()
                    .contains("holds an established TCP connection").endsWith("restore with --tcp-established (or --tcp-close to restore it closed)");
            assertThat(Files.exists(Path.of("/proc/" + pid))).as("nothing was started").isFalse();
            assertThat(NetworkLock.exists("cryo-" + pid)).as("the lock stays for the next try").isTrue();

            MainTest.Run restore = MainTest.cryo("restore", "-D", images.toString(), "-d", "--tcp-established");
            assertThat(restore.exit()).as(restore.err()).isZero();
            try {
                assertThat(NetworkLock.exists("cryo-" + pid)).isFalse();
                assertThat(t.verdict()).as("tcp_external's check: the greeting, then echoes from its peer").isEqualTo("PASS");
            } finally {
                try {
                    Signals.kill(pid, Kernel.SIGKILL);
                } catch (ErrnoException gone) {
                    // ended with its verdict
                }
            }
        } finally {
            NetworkLock.unlock("cryo-" + Files.readString(work.resolve("t/ready")).strip());
        }
    }
}
