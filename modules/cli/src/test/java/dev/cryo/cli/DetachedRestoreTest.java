package dev.cryo.cli;

import static dev.cryo.cli.CryoProcess.awaitChild;
import static dev.cryo.cli.CryoProcess.checkRestored;
import static dev.cryo.cli.CryoProcess.command;
import static dev.cryo.cli.CryoProcess.underNanny;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * {@code cryo restore -d}, run as a user runs it, under a subreaper of the test's own: once the command returns,
 * the restored tree's parent is that subreaper (as CRIU leaves a tree: reparented), and no process of cryo's is
 * left below it, no keeper and no puppet, not even as a zombie.
 */
class DetachedRestoreTest {
    @TempDir
    Path work;

    @Test
    void afterRestoreDReturnsTheTreeHasNoParentOfCryosAndNothingOfCryoLingers() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        Path dir = work.resolve("t");
        List<Integer> dumped;
        try (Target target = Target.start("dumpee", dir, "8", "2")) {
            dumped = target.processes();
            Dumper.dump(DumpOptions.of(target.pid(), images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
        Process nanny = underNanny(command("restore", "-D", images.toString(), "-d", "-j"), work.resolve("cryo.out")).start();
        try {
            ProcessHandle cryo = awaitChild(nanny);
            assertThat(cryo.onExit().get(120, TimeUnit.SECONDS).isAlive()).isFalse();
            assertThat(Files.readString(work.resolve("cryo.out"))).contains("restored pid " + dumped.getFirst());
            int root = dumped.getFirst();
            // what the subreaper holds once cryo is gone: the tree, with the root as its direct child
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            List<ProcessHandle> below;
            do {
                below = nanny.descendants().toList();
                Thread.sleep(10);
            } while (below.stream().anyMatch(h -> !dumped.contains((int) h.pid())) && System.nanoTime() < deadline);
            assertThat(below.stream().map(h -> (int) h.pid()).toList()).as("below the subreaper: the tree, nothing else")
                    .containsExactlyInAnyOrderElementsOf(dumped);
            assertThat(ppid(root)).as("the restored root's parent").isEqualTo((int) nanny.pid());
            for (int pid : dumped) {
                assertThat(Files.readSymbolicLink(Path.of("/proc/" + pid + "/exe")).toString()).doesNotContain("cryo-puppet");
                assertThat(state(pid)).as("pid %d", pid).isNotEqualTo('Z');
            }
            assertThat(checkRestored(dir)).as("the restored tree's own check").isEqualTo("PASS");
        } finally {
            nanny.descendants().forEach(ProcessHandle::destroyForcibly);
            nanny.destroyForcibly();
            nanny.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static int ppid(int pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    }

    private static char state(int pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2);
    }
}
