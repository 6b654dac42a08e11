package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/** Restore from a chain of pre-dumps and a final dump: the memory is the target's at the final dump. */
class PreDumpRestoreTest {
    private Path work;

    @BeforeEach
    void scratch() throws Exception {
        work = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"), "cryo-chain");
    }

    @AfterEach
    void clean() throws Exception {
        try (var s = Files.walk(work)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Sends SIGUSR1 to {@code pid} and returns what it wrote to DIR/check. */
    static String ask(int pid, Path dir) throws Exception {
        Path check = dir.resolve("check");
        Files.deleteIfExists(check);
        Signals.kill(pid, Kernel.SIGUSR1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(check)) {
            assertThat(System.nanoTime()).as("pid %d answers SIGUSR1 within 30 s", pid).isLessThan(deadline);
            Thread.sleep(5);
        }
        return Files.readString(check).trim();
    }

    static void dirty(int pid, Path dir, int generation) throws Exception {
        Signals.kill(pid, Kernel.SIGUSR2);
        Path done = dir.resolve("dirtied");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(done) && Files.readString(done).trim().equals(Integer.toString(generation)))) {
            assertThat(System.nanoTime()).as("pd_dirty writes generation %d", generation).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    /** Turns of pd_churn's loop (each maps, grows, protects or rewrites a slot) between two steps. */
    private static final long CHURN = 1000;

    /**
     * Asks pd_churn until it has turned more than {@code turns} times, each answer its own check of its memory
     * ("PASS TURNS"); returns the turns of the last answer.
     */
    static long churnedPast(int pid, Path dir, long turns) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            String said = ask(pid, dir);
            assertThat(said).as("pd_churn's check").startsWith("PASS ");
            long now = Long.parseLong(said.substring(5));
            if (now > turns) {
                return now;
            }
            assertThat(System.nanoTime()).as("pd_churn turns past %d within 30 s (at %d)", turns, now).isLessThan(deadline);
        }
    }

    static DumpOptions step(int pid, Path dir, PreDumpMode mode, String prev) {
        DumpOptions o = DumpOptions.of(pid, dir).withPreDumpMode(mode).withShellJob(true).withTrackMem(true);
        return prev == null ? o : o.withPrevImagesDir(Path.of("..", prev));
    }

    @ParameterizedTest
    @EnumSource(PreDumpMode.class)
    void twoPreDumpsAndADumpOf1GiBRestoreTheMemoryOfTheFinalDump(PreDumpMode mode) throws Exception {
        long pages = 1024 * 256L;
        Path t = work.resolve("t");
        String before;
        int pid;
        DumpStats pre2;
        DumpStats dump;
        try (Target target = Target.start("pd_dirty", t, "1024", "10")) {
            pid = target.pid();
            Dumper.preDump(step(pid, Files.createDirectory(work.resolve("pre1")), mode, null), new Cancellation());
            dirty(pid, t, 1);
            pre2 = Dumper.preDump(step(pid, Files.createDirectory(work.resolve("pre2")), mode, "pre1"), new Cancellation());
            dirty(pid, t, 2);
            before = ask(pid, t);
            dump = Dumper.dump(step(pid, Files.createDirectory(work.resolve("dump")), mode, "pre2"), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed the target").isTrue();
        }
        assertThat(pre2.pagesWritten()).isLessThanOrEqualTo(pages * 2 / 100);
        assertThat(dump.pagesWritten()).isLessThanOrEqualTo(pages * 2 / 100);
        RestoreStats r = Restorer.restore(RestoreOptions.of(work.resolve("dump")).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(r.rootPid()).isEqualTo(pid);
            assertThat(r.pagesRestored()).isGreaterThanOrEqualTo(pages);
            assertThat(ask(pid, t)).as("generation and checksum of the memory after restore").isEqualTo(before);
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }

    @ParameterizedTest
    @EnumSource(PreDumpMode.class)
    void aChildForkedBetweenPreDumpsDropsTheTrackerItInheritedAndComesBack(PreDumpMode mode) throws Exception {
        Path t = work.resolve("t");
        int pid;
        String before;
        try (Target target = Target.start("pd_fork", t)) {
            pid = target.pid();
            Dumper.preDump(step(pid, Files.createDirectory(work.resolve("pre1")), mode, null), new Cancellation());
            Signals.kill(pid, Kernel.SIGUSR2);
            Path forked = t.resolve("forked");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (!Files.exists(forked)) {
                assertThat(System.nanoTime()).as("pd_fork forks within 15 s of SIGUSR2").isLessThan(deadline);
                Thread.sleep(5);
            }
            int child = Integer.parseInt(Files.readString(forked).trim());
            String trackerOfParent = Files.readAllLines(work.resolve("pre1/cryo-uffd.txt")).getLast().split(" ")[1];
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + child + "/fd/" + trackerOfParent)).toString())
                    .as("the child inherited its parent's tracker").isEqualTo("anon_inode:[userfaultfd]");
            DumpStats pre2 = Dumper.preDump(step(pid, Files.createDirectory(work.resolve("pre2")), mode, "pre1"), new Cancellation());
            assertThat(pre2.processes()).isEqualTo(2);
            List<String> record = Files.readAllLines(work.resolve("pre2/cryo-uffd.txt")).subList(1, 3);
            assertThat(record).as("each process has a tracker of its own (pid fd inode)")
                    .extracting(l -> l.split(" ")[2]).doesNotHaveDuplicates();
            before = ask(pid, t);
            assertThat(before).startsWith("PASS " + child + " ");
            Dumper.dump(step(pid, Files.createDirectory(work.resolve("dump")), mode, "pre2"), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed the tree").isTrue();
        }
        Restorer.restore(RestoreOptions.of(work.resolve("dump")).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(ask(pid, t)).as("parent's memory and its child after restore").isEqualTo(before);
        } finally {
            // the parent first: it never reaps, so its child would wait as a zombie
            RestoreTest.killAndAwait(pid);
            RestoreTest.killAndAwait(Integer.parseInt(before.split(" ")[1]));
        }
    }

    @Test
    void aTargetThatRemapsInATightLoopDuringReadModePreDumpsRestoresCorrectly() throws Exception {
        Path t = work.resolve("t");
        int pid;
        String prev = null;
        try (Target target = Target.start("pd_churn", t)) {
            pid = target.pid();
            long turns = churnedPast(pid, t, 0);
            for (int i = 1; i <= 6; i++) {
                String name = "pre" + i;
                Dumper.preDump(step(pid, Files.createDirectory(work.resolve(name)), PreDumpMode.READ, prev), new Cancellation());
                prev = name;
                turns = churnedPast(pid, t, turns + CHURN); // the next step sees other mappings
            }
            DumpStats d = Dumper.dump(step(pid, Files.createDirectory(work.resolve("dump")), PreDumpMode.READ, prev), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed the target").isTrue();
            // the 16 MiB that never change come from the chain, so restore has to read through it
            assertThat(d.pagesInParent()).isGreaterThanOrEqualTo(4096);
        }
        Restorer.restore(RestoreOptions.of(work.resolve("dump")).withShellJob(true).withDetached(true), new Cancellation());
        try {
            long turns = churnedPast(pid, t, 0); // pd_churn's own check after restore
            churnedPast(pid, t, turns + CHURN); // and after it churned on
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }
}
