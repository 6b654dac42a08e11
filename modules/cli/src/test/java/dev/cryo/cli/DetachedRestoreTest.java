package dev.cryo.cli;

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
import dev.cryo.testkit.Programs;
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
        List<String> cmd = new ArrayList<>(List.of(Programs.build("nanny").toString(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"), "dev.cryo.cli.Main",
                "restore", "-D", images.toString(), "-d", "-j"));
        Process nanny = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(work.resolve("cryo.out").toFile()).start();
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

    private static ProcessHandle awaitChild(Process nanny) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            var child = nanny.children().findFirst();
            if (child.isPresent()) {
                return child.get();
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the nanny started no cryo within 30 s");
    }

    /** Asks the restored dumpee (its pid is in the ready file it wrote before the dump) to check itself. */
    private static String checkRestored(Path dir) throws Exception {
        int pid = Integer.parseInt(Files.readString(dir.resolve("ready")).strip());
        Path check = dir.resolve("check");
        Files.deleteIfExists(check);
        new ProcessBuilder("kill", "-USR1", Integer.toString(pid)).start().waitFor();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(check) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return Files.exists(check) ? Files.readString(check).strip() : "no answer to SIGUSR1";
    }
}
