package dev.cryo.cli;

import static dev.cryo.cli.CryoProcess.awaitChild;
import static dev.cryo.cli.CryoProcess.checkRestored;
import static dev.cryo.cli.CryoProcess.java;
import static dev.cryo.cli.CryoProcess.underNanny;
import static dev.cryo.cli.CryoProcess.writingTo;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.cryo.testkit.Awaits;
import dev.cryo.testkit.Target;

/**
 * SIGKILL of cryo at named points of its work (cryo stops itself there, {@code -Dcryo.stop-at=POINT#N}, and
 * the test kills it): a dump's or a pre-dump's target runs on as if nothing had happened, and a killed
 * restore leaves no process behind, or, killed once every task is released, a whole tree that passes its
 * own check. The target, dumpee, is a process with 64 MiB, three threads sleeping in nanosleep, a main thread
 * in sigsuspend, a child, files and a pipe.
 */
class KillTest {
    @TempDir
    Path work;

    /**
     * Twenty-five points over a dump --leave-running: the freeze, every step of both parasites' lives (the
     * leaders' queries in one stop, the other threads' calls one at a time), the pages, the release.
     */
    @ParameterizedTest(name = "dump killed at {0}")
    @ValueSource(strings = {
            "frozen", "infect", "frame", "call-set", "call-entry", "call-exit", "batch-set", "batch-stop", "batch-stop#2",
            "frame#2", "call-set#4", "call-entry#5", "call-exit#7", "frame#4", "batch-set#3", "batch-stop#4", "cure-thread",
            "cure-unmapped", "cure-thread#4", "cured", "infect#2", "cure-unmapped#2", "pages", "pages#2", "released"})
    void aDumpKilledAnywhereLeavesItsTargetRunningAsItWas(String point) throws Exception {
        killedAt(point, "dump", "--leave-running", "-j");
    }

    /** Points over a pre-dump in splice mode (the parasite vmsplices pages) and in read mode (copied after the release). */
    @ParameterizedTest(name = "pre-dump killed at {0}")
    @ValueSource(strings = {"frozen", "call-exit#3", "call-exit#8", "cure-unmapped", "cured#2", "released", "pages"})
    void aPreDumpKilledAnywhereLeavesItsTargetRunningAsItWas(String point) throws Exception {
        killedAt(point, "pre-dump", "--pre-dump-mode", "splice");
    }

    @ParameterizedTest(name = "read-mode pre-dump killed at {0}")
    @ValueSource(strings = {"call-exit#2", "cured", "pages"})
    void aReadModePreDumpKilledAnywhereLeavesItsTargetRunningAsItWas(String point) throws Exception {
        killedAt(point, "pre-dump", "--pre-dump-mode", "read");
    }

    private void killedAt(String point, String command, String... options) throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "64", "3")) {
            Map<Integer, String> maps = new LinkedHashMap<>();
            for (int pid : target.processes()) {
                maps.put(pid, Files.readString(Path.of("/proc/" + pid + "/maps")));
            }
            List<String> args = new ArrayList<>(List.of(command, "-t", Integer.toString(target.pid()), "-D", images.toString(),
                    "--no-warm-up"));
            args.addAll(List.of(options));
            Process cryo = cryo(point, args).start();
            killWhenStopped(cryo, point);

            for (Map.Entry<Integer, String> m : maps.entrySet()) {
                assertThat(tracers(m.getKey())).as("TracerPid of the threads of pid " + m.getKey()).containsOnly(0);
                // A thread left in the parasite's code cures itself once it runs again: on a busy machine, not at once.
                assertThat(Awaits.maps(m.getKey(), m.getValue())).as("the mappings of pid " + m.getKey()).isEqualTo(m.getValue());
            }
            assertThat(target.check()).as("dumpee's own check of its memory, files, pipe, threads and child").isEqualTo("PASS");
        }
    }

    /**
     * Twenty-one points over a restore -d of a dumped dumpee: every step until the restore is committed leaves
     * nothing (puppets die with cryo, and the keeper kills what it was told of, even a process released
     * already); after the commit the tree is whole.
     */
    @ParameterizedTest(name = "restore killed at {0}")
    @ValueSource(strings = {
            "restore:starting the puppet", "restore:seizing the puppet", "restore:placing the trampoline", "call-exit",
            "restore:creating the process", "restore:memory", "call-exit#40", "restore:creating the process#2",
            "restore:memory#2", "restore:creating the thread", "restore:creating the thread#3", "restore:session and group",
            "restore:files", "restore:fds", "restore:signal handlers#2", "restore:thread state#3", "restore:task state",
            "restore:registers", "restore:release", "restore:released-one", "restore:released"})
    void aRestoreKilledAnywhereLeavesNothingOrTheWholeTree(String point) throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        Path dir = work.resolve("t");
        List<Integer> pids;
        try (Target target = Target.start("dumpee", dir, "64", "3")) {
            pids = target.processes();
            Process dump = cryo(null, List.of("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(), "-j", "--no-warm-up"))
                    .start();
            assertThat(dump.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(dump.exitValue()).as(said()).isZero();
            assertThat(target.awaitExit(30)).as("the dumped tree is gone").isTrue();
        }
        // The restore runs under a subreaper of its own: whatever it leaves behind ends up there, and only there.
        Process nanny = underNanny(cryo(point, List.of("restore", "-D", images.toString(), "-d", "-j")).command(),
                work.resolve("cryo.out")).start();
        try {
            ProcessHandle cryo = awaitChild(nanny);
            killWhenStopped(cryo, point);
            if (!point.equals("restore:released")) {
                assertThat(nanny.waitFor(30, TimeUnit.SECONDS)).as("every process of the killed restore is gone").isTrue();
                for (int pid : pids) {
                    assertThat(Files.exists(Path.of("/proc/" + pid))).as("pid " + pid + " of the dumped tree").isFalse();
                }
            } else {
                assertThat(checkRestored(dir)).as("the restored tree's own check").isEqualTo("PASS");
            }
        } finally {
            nanny.descendants().forEach(ProcessHandle::destroyForcibly);
            nanny.destroyForcibly();
            nanny.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aPointNeverReachedIsAFailureNotAPass() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "8", "1")) {
            Process cryo = cryo("no-such-point", List.of("dump", "-t", Integer.toString(target.pid()), "-D", images.toString(),
                    "-j", "--leave-running", "--no-warm-up")).start();
            assertThat(awaitStopOrExit(cryo.toHandle())).as("cryo stopped at a point that does not exist").isFalse();
        }
    }

    /** cryo as its own process, stopping itself at {@code stopAt} (StopPoints) unless null. */
    private ProcessBuilder cryo(String stopAt, List<String> args) {
        List<String> cmd = stopAt == null ? java() : java("-Dcryo.stop-at=" + stopAt);
        cmd.addAll(args);
        return writingTo(cmd, work.resolve("cryo.out"));
    }

    private void killWhenStopped(Process cryo, String point) throws Exception {
        killWhenStopped(cryo.toHandle(), point);
    }

    private void killWhenStopped(ProcessHandle cryo, String point) throws Exception {
        assertThat(awaitStopOrExit(cryo)).as("cryo stopped at " + point + " (it said: " + said() + ")").isTrue();
        new ProcessBuilder("kill", "-KILL", Long.toString(cryo.pid())).start().waitFor();
        cryo.onExit().get(30, TimeUnit.SECONDS);
    }

    /** Waits until cryo stops itself (state T: true) or exits (false). */
    private static boolean awaitStopOrExit(ProcessHandle cryo) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            char state = state((int) cryo.pid());
            if (state == 'T') {
                return true;
            }
            if (state == 'X' || state == 'Z' || !cryo.isAlive()) {
                return false;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("cryo neither stopped nor ended within 120 s");
    }

    private String said() {
        try {
            return Files.readString(work.resolve("cryo.out")).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    private static char state(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException e) {
            return 'X';
        }
    }

    private static List<Integer> tracers(int pid) throws IOException {
        List<Integer> out = new ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                String line = Files.readAllLines(t.resolve("status")).stream().filter(l -> l.startsWith("TracerPid:"))
                        .findFirst().orElseThrow();
                out.add(Integer.parseInt(line.substring("TracerPid:".length()).strip()));
            }
        }
        return out;
    }
}
