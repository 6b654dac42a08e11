package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

class RestoreTest {
    @TempDir
    Path work;

    /** The counter's answer to SIGUSR1: its count and the checksum of its 16 MiB buffer. */
    record Answer(long counter, String checksum) {
        static Answer of(String text) {
            String[] f = text.trim().split(" ");
            return new Answer(Long.parseLong(f[0]), f[1]);
        }
    }

    static Answer ask(int pid, Path dir) throws Exception {
        Path check = dir.resolve("check");
        Files.deleteIfExists(check);
        Signals.kill(pid, Kernel.SIGUSR1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(check)) {
            assertThat(System.nanoTime()).as("pid %d answers SIGUSR1 within 20 s", pid).isLessThan(deadline);
            Thread.sleep(10);
        }
        return Answer.of(Files.readString(check));
    }

    /** Asks until the counter has counted past {@code count}: it runs on. */
    static Answer awaitCountPast(int pid, Path dir, long count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            Answer a = ask(pid, dir);
            if (a.counter() > count) {
                return a;
            }
            assertThat(System.nanoTime()).as("pid %d counts past %d within 20 s (at %d)", pid, count, a.counter()).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    static void killAndAwait(int pid) throws Exception {
        if (Signals.exists(pid)) {
            Signals.kill(pid, Kernel.SIGKILL);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (Files.exists(Path.of("/proc/" + pid)) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    @Test
    void dumpThenRestoreKeepsAnonymousMemoryAndTheCounterGoesOn() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        Answer before;
        try (Target target = Target.start("counter", dir)) {
            pid = target.pid();
            before = ask(pid, dir);
            // the target shares the test JVM's session: a shell job
            Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed the counter").isTrue();
        }
        assertThat(Path.of("/proc/" + pid)).doesNotExist();

        // As with CRIU, a shell job comes back only when asked for as one; nothing is started otherwise.
        assertThatThrownBy(() -> Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation()))
                .isInstanceOf(RestoreException.class).hasMessageContaining("restore it with --shell-job");
        assertThat(Path.of("/proc/" + pid)).doesNotExist();

        RestoreStats stats = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(stats.rootPid()).isEqualTo(pid);
            assertThat(stats.pagesRestored()).isGreaterThanOrEqualTo(4096); // the 16 MiB buffer at least
            Answer after = ask(pid, dir);
            assertThat(after.checksum()).isEqualTo(before.checksum());
            assertThat(after.counter()).isGreaterThanOrEqualTo(before.counter());
            Answer later = awaitCountPast(pid, dir, after.counter());
            assertThat(later.checksum()).isEqualTo(before.checksum());
        } finally {
            killAndAwait(pid);
        }
        assertThat(Path.of("/proc/" + pid)).doesNotExist();
    }

    @Test
    void aRestoreIntoAFreshPidRunsOnAndLeavesNoPuppetBehind() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int original;
        Answer before;
        try (Target target = Target.start("counter", dir)) {
            original = target.pid();
            before = ask(original, dir);
            Dumper.dump(DumpOptions.of(original, images).withShellJob(true).withLeaveRunning(true), new Cancellation());
        }
        RestoreStats s = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true).withSamePid(false), new Cancellation());
        try {
            assertThat(s.rootPid()).as("a pid of the kernel's choosing").isNotEqualTo(original);
            Answer after = ask(s.rootPid(), dir);
            assertThat(after.checksum()).isEqualTo(before.checksum());
            awaitCountPast(s.rootPid(), dir, after.counter());
        } finally {
            killAndAwait(s.rootPid());
        }
        // the keeper exits once its last child is reaped: give it a moment
        java.util.List<String> left = puppets();
        for (int i = 0; i < 100 && !left.isEmpty(); i++) {
            Thread.sleep(50);
            left = puppets();
        }
        assertThat(left).as("puppets left").isEmpty();
    }

    /** Puppets below this JVM (other JVMs on the machine may be restoring at the same time). */
    private static java.util.List<String> puppets() throws Exception {
        return ProcessHandle.current().descendants().map(h -> Path.of("/proc/" + h.pid() + "/exe")).map(p -> {
            try {
                return Files.readSymbolicLink(p).toString();
            } catch (Exception e) {
                return "";
            }
        }).filter(x -> x.contains("cryo-puppet")).toList();
    }
}
