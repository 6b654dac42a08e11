package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.testkit.Target;

/** {@code cryo pre-dump} and {@code cryo dump --prev-images-dir --track-mem} as a user runs them. */
class PreDumpCommandTest {
    @TempDir
    Path work;

    @Test
    void twoPreDumpsAndADumpPrintTheirStatsAndChain() throws Exception {
        Path pre1 = Files.createDirectories(work.resolve("pre1"));
        Path pre2 = Files.createDirectories(work.resolve("pre2"));
        Path dump = Files.createDirectories(work.resolve("dump"));
        try (Target t = Target.start("pd_dirty", work.resolve("t"), "16", "10")) {
            String pid = Integer.toString(t.pid());
            MainTest.Run first = MainTest.cryo("pre-dump", "-t", pid, "-D", pre1.toString(), "--pre-dump-mode", "read", "--display-stats");
            assertThat(first.exit()).as(first.err()).isZero();
            assertThat(first.out()).contains("frozen time:", "memdump time:", "pages scanned:", "pages written:",
                    "pages skipped:", "pinned peak:", "dirty tracker:").containsPattern("dirty tracker: +uffd-wp")
                    .containsPattern("freezer: +ptrace");
            MainTest.Run second = MainTest.cryo("pre-dump", "-t", pid, "-D", pre2.toString(), "--prev-images-dir", "../pre1",
                    "--pre-dump-mode", "splice", "--track-mem", "--display-stats");
            assertThat(second.exit()).as(second.err()).isZero();
            assertThat(Files.readSymbolicLink(pre2.resolve("parent"))).isEqualTo(Path.of("../pre1"));
            MainTest.Run last = MainTest.cryo("dump", "-t", pid, "-D", dump.toString(), "-j", "--prev-images-dir", "../pre2",
                    "--track-mem", "--display-stats");
            assertThat(last.exit()).as(last.err()).isZero();
            assertThat(last.out()).containsPattern("pages skipped: +[1-9]");
            assertThat(t.awaitExit(30)).isTrue();
        }
    }

    @Test
    void aWrongModeIsOneLine() {
        MainTest.Run run = MainTest.cryo("pre-dump", "-t", "1", "-D", work.toString(), "--pre-dump-mode", "copy");
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.errLines()).containsExactly("cryo: --pre-dump-mode is splice or read, not copy");
    }

    @Test
    void checkNamesTheDirtyPageTracker() {
        assertThat(MainTest.cryo("check").out()).containsPattern("dirty-page tracker +yes +uffd-wp");
    }

    @Test
    void sigtermMidSplicePreDumpLeavesTheTargetRunningAndUntraced() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("pd_dirty", work.resolve("t"), "1024", "10")) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process cryo = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-cp", System.getProperty("java.class.path"),
                    "dev.cryo.cli.Main", "pre-dump", "-t", Integer.toString(target.pid()), "-D", images.toString(),
                    "--pre-dump-mode", "splice")
                    .redirectErrorStream(true).redirectOutput(work.resolve("cryo.out").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (tracer(target.pid()) == 0 && cryo.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            assertThat(tracer(target.pid())).as("cryo seized the target").isNotZero();
            new ProcessBuilder("kill", "-TERM", Long.toString(cryo.pid())).start().waitFor();
            assertThat(cryo.waitFor(90, TimeUnit.SECONDS)).isTrue();
            List<String> out = Files.readString(work.resolve("cryo.out")).lines().filter(l -> !l.startsWith("WARNING")).toList();
            assertThat(cryo.exitValue()).as(String.join("\n", out)).isNotZero();
            assertThat(out).hasSize(1).first().asString().startsWith("cryo: cannot pre-dump pid " + target.pid());
            assertThat(tracer(target.pid())).as("nobody traces the target").isZero();
            assertThat(images.resolve("inventory.img")).doesNotExist();
            assertThat(target.check()).as("the target answers, its memory as it was").startsWith("0 ");
        }
    }

    private static int tracer(int pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("TracerPid:")) {
                return Integer.parseInt(line.substring(10).trim());
            }
        }
        return 0;
    }
}
