package dev.cryo.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.cryo.testkit.Programs;

/**
 * cryo as its own process, as a user runs it: the JVM options {@code ./cryo} gives it (-XX:-UsePerfData among
 * them) and the test JVM's class path, which holds every module; alone or under a nanny (a subreaper of the
 * test's own, so that whatever it leaves behind ends up there, and only there).
 */
final class CryoProcess {
    private CryoProcess() {}

    /** The command line up to cryo's arguments, with {@code jvmOptions} (e.g. {@code -Dcryo.stop-at=...}) before the class path. */
    static List<String> java(String... jvmOptions) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData"));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.cryo.cli.Main"));
        return cmd;
    }

    /** {@code cryo ARGS}: the whole command line. */
    static List<String> command(String... args) {
        List<String> cmd = java();
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** {@code cryo ARGS}, its stdout and stderr both to {@code out}. */
    static ProcessBuilder cryo(Path out, String... args) {
        return writingTo(command(args), out);
    }

    /** {@code command} run by a nanny, which becomes its subreaper; both outputs to {@code out}. */
    static ProcessBuilder underNanny(List<String> command, Path out) {
        List<String> cmd = new ArrayList<>(List.of(Programs.build("nanny").toString()));
        cmd.addAll(command);
        return writingTo(cmd, out);
    }

    /** {@code cmd}, its stdout and stderr both to {@code out}. */
    static ProcessBuilder writingTo(List<String> cmd, Path out) {
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
    }

    /** What the nanny started (cryo, or the program it runs), once it runs. */
    static ProcessHandle awaitChild(Process nanny) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            var child = nanny.children().findFirst();
            if (child.isPresent()) {
                return child.get();
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the nanny started nothing within 30 s");
    }

    /**
     * Asks a restored zdtm program (its pid is in the ready file it wrote in {@code dir} before the dump) to
     * check itself (SIGUSR1), and returns what it wrote: "PASS" or the reason.
     */
    static String checkRestored(Path dir) throws IOException, InterruptedException {
        int pid = Integer.parseInt(Files.readString(dir.resolve("ready")).strip());
        return dev.cryo.testkit.RestoredTree.check(pid, dir);
    }
}
