package dev.cryo.cli;

import static dev.cryo.cli.CryoProcess.awaitChild;
import static dev.cryo.cli.CryoProcess.command;
import static dev.cryo.cli.CryoProcess.cryo;
import static dev.cryo.cli.CryoProcess.underNanny;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;


/**
 * A HotSpot JVM started with default flags (so with its hsperfdata file mapped), several threads counting,
 * dumped and restored by cryo run as a user runs it, each command a JVM of its own: the restored JVM counts on,
 * every thread, from where it stopped. The dumped JVM's /tmp/hsperfdata_USER/PID must survive cryo's own start
 * (a JVM that keeps hsperfdata deletes the files of pids not running: cryo runs with -XX:-UsePerfData); deleted
 * after that, as any other JVM started meanwhile would delete it, it comes back from the images.
 */
class JvmRestoreTest {
    @TempDir
    Path work;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/temurin-25-jdk-amd64"})
    void aJvmWithDefaultFlagsCountsOnAfterRestore(String home) throws Exception {
        Path java = Path.of(home, "bin", "java");
        assumeTrue(Files.isExecutable(java) && Files.isExecutable(Path.of(home, "bin", "javac")), "no JDK at " + home);
        Path classes = Files.createDirectories(work.resolve("classes"));
        Path source = work.resolve("Counter.java");
        try (InputStream in = getClass().getResourceAsStream("Counter.java.txt")) {
            Files.copy(in, source);
        }
        Process javac = new ProcessBuilder(Path.of(home, "bin", "javac").toString(), "-d", classes.toString(), source.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("javac.out").toFile()).start();
        assertThat(javac.waitFor(120, TimeUnit.SECONDS) && javac.exitValue() == 0).as(Files.readString(work.resolve("javac.out"))).isTrue();

        Path counts = work.resolve("counts");
        Process first = underNanny(List.of(java.toString(), "-cp", classes.toString(), "Counter", counts.toString()),
                work.resolve("jvm.out")).start();
        Process second = null;
        int pid = 0;
        try {
            pid = (int) awaitChild(first).pid();
            long[] running = awaitRounds(counts, 5);
            Path perf = Path.of("/tmp/hsperfdata_root/" + pid);
            assertThat(Files.readString(Path.of("/proc/" + pid + "/maps"))).as("the JVM maps its hsperfdata").contains(perf.toString());
            int threads = threads(pid);

            Path images = Files.createDirectories(work.resolve("img"));
            Process dump = cryo(work.resolve("cryo.out"), "dump", "-t", Integer.toString(pid), "-D", images.toString(), "-j").start();
            assertThat(dump.waitFor(180, TimeUnit.SECONDS)).isTrue();
            String said = Files.readString(work.resolve("cryo.out"));
            assertThat(dump.exitValue()).as(said).isZero();
            assertThat(first.waitFor(30, TimeUnit.SECONDS)).as("the dump killed the JVM").isTrue();
            long[] dumped = rounds(counts);
            assertThat(dumped[0]).isGreaterThanOrEqualTo(running[0]);
            assertThat(perf).as("the dumped JVM's hsperfdata, after cryo's own JVM started").exists();
            // as any JVM that keeps hsperfdata, started now as root, does to the file of a pid not running
            Files.delete(perf);

            second = underNanny(command("restore", "-D", images.toString(), "-d", "-j"), work.resolve("cryo.out")).start();
            ProcessHandle restoring = awaitChild(second);
            assertThat(restoring.onExit().get(180, TimeUnit.SECONDS).isAlive()).isFalse();
            assertThat(Files.readString(work.resolve("cryo.out"))).contains("restored pid " + pid);
            assertThat(threads(pid)).as("threads of the restored JVM").isEqualTo(threads);
            assertThat(perf).as("the hsperfdata file, re-created from the images").exists();
            long[] after = awaitRounds(counts, dumped[0] + 10);
            Thread.sleep(300);
            long[] later = rounds(counts);
            for (int i = 0; i < later.length; i++) {
                assertThat(after[i]).as("count %d goes on from the dump (%s then %s)", i, Arrays.toString(dumped), Arrays.toString(after))
                        .isGreaterThanOrEqualTo(dumped[i]);
                assertThat(later[i]).as("count %d still moves (%s then %s)", i, Arrays.toString(after), Arrays.toString(later))
                        .isGreaterThan(after[i]);
            }
        } finally {
            for (Process p : second == null ? List.of(first) : List.of(first, second)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
            if (pid != 0) {
                Files.deleteIfExists(Path.of("/tmp/hsperfdata_root/" + pid)); // the killed JVM's, left by the kill
            }
        }
    }

    /** ROUNDS and the four counts, as the JVM last wrote them. */
    private static long[] rounds(Path counts) throws Exception {
        String[] f = Files.readString(counts).strip().split(" ");
        long[] out = new long[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Long.parseLong(f[i]);
        }
        return out;
    }

    private static long[] awaitRounds(Path counts, long rounds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.exists(counts)) {
                long[] r = rounds(counts);
                if (r[0] >= rounds) {
                    return r;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the JVM did not reach round " + rounds + " within 60 s ("
                + (Files.exists(counts) ? Files.readString(counts).strip() : "no counts") + ")");
    }

    private static int threads(int pid) throws Exception {
        try (var t = Files.list(Path.of("/proc/" + pid + "/task"))) {
            return (int) t.count();
        }
    }
}
