package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * Programs no one here wrote, and the dump issue's own test program: dumped, restored with -d, and they
 * go on where they were.
 */
class ProgramRestoreTest {
    @TempDir
    Path work;

    /** The numbers a counting loop appended to {@code file}, one per line (a last partial line left out). */
    static List<Long> counts(Path file) throws Exception {
        List<Long> out = new ArrayList<>();
        String text = Files.readString(file);
        String[] lines = text.split("\n");
        int whole = text.endsWith("\n") ? lines.length : lines.length - 1;
        for (int i = 0; i < whole; i++) {
            out.add(Long.parseLong(lines[i].trim()));
        }
        return out;
    }

    /** Consecutive from 1, with at most one number repeated (the one in flight at the dump). */
    static void assertCountsOn(List<Long> counts) {
        assertThat(counts).isNotEmpty();
        assertThat(counts.getFirst()).isEqualTo(1L);
        int repeats = 0;
        for (int i = 1; i < counts.size(); i++) {
            long step = counts.get(i) - counts.get(i - 1);
            assertThat(step).as("step at line %d of %s", i + 1, counts).isBetween(0L, 1L);
            repeats += step == 0 ? 1 : 0;
        }
        assertThat(repeats).as("numbers written twice").isLessThanOrEqualTo(1);
    }

    static void awaitCount(Path file, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(file) || counts(file).size() < n) {
            assertThat(System.nanoTime()).as("%s reaches %d lines", file, n).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /** Dumps the program (a shell job: it shares the test JVM's session), restores it, checks it counts on. */
    private void countsOnAfterRestore(String... command) throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        Path file = dir.resolve("count");
        int pid;
        try (Target target = Target.start("rst_exec", dir, Target.Stdio.DEV_NULL, command)) {
            pid = target.pid();
            awaitCount(file, 5);
            Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
        int before = counts(file).size();
        RestoreStats s = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(s.rootPid()).isEqualTo(pid);
            awaitCount(file, before + 10);
            assertCountsOn(counts(file));
        } finally {
            List<Integer> all = new ArrayList<>(List.of(pid));
            all.addAll(TreeRestoreTest.childrenOf(pid));
            TreeRestoreTest.killAll(all);
        }
    }

    @Test
    void aShellLoopCountsOnWithoutAGap() throws Exception {
        Path file = work.resolve("t").resolve("count");
        countsOnAfterRestore("/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo $i >> " + file + "; sleep 0.1; done");
    }

    @Test
    void pythonCountsOnWithoutAGap() throws Exception {
        Path file = work.resolve("t").resolve("count");
        countsOnAfterRestore("/usr/bin/python3", "-c", "import time\ni = 0\nwhile True:\n    i += 1\n"
                + "    with open('" + file + "', 'a') as f:\n        f.write(f'{i}\\n')\n    time.sleep(0.1)\n");
    }

    /** The dump issue's program: 256 MiB pattern, 4 threads, a child, file mappings, a file at an offset, a pipe. */
    @Test
    void dumpeeComesBackWholeAndPassesItsOwnCheck() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        List<Integer> pids = new ArrayList<>();
        List<TreeRestoreTest.Proc> before = new ArrayList<>();
        try (Target target = Target.start("dumpee", dir, "256", "4")) {
            pids.add(target.pid());
            pids.addAll(TreeRestoreTest.childrenOf(target.pid()));
            for (int pid : pids) {
                before.add(TreeRestoreTest.Proc.of(pid));
            }
            assertThat(target.check()).isEqualTo("PASS");
            Dumper.dump(DumpOptions.of(target.pid(), images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
        Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
        try {
            for (int i = 0; i < pids.size(); i++) {
                TreeRestoreTest.Proc now = TreeRestoreTest.Proc.of(pids.get(i));
                assertThat(now.tids()).as("tids of %d", pids.get(i)).isEqualTo(before.get(i).tids());
                if (i > 0) {
                    assertThat(now.ppid()).as("parent of %d", pids.get(i)).isEqualTo(pids.get(0));
                }
            }
            // no wait for the restarted sleep: dumpee keeps SIGUSR1 blocked outside sigsuspend (requests.h), so one
            // sent before the main thread sleeps again waits for it
            assertThat(TreeRestoreTest.ask(pids.get(0), dir.resolve("check"))).isEqualTo("PASS");
        } finally {
            TreeRestoreTest.killAll(pids);
        }
    }
}
