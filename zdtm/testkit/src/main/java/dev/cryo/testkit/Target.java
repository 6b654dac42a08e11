package dev.cryo.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A running test program, started under the reaping nanny so that it is not the JVM's child.
 * Programs write their pid to {@code DIR/ready} when set up. Closing kills every process below the nanny.
 */
public final class Target implements AutoCloseable {
    private final Process nanny;
    private final Path dir;
    private final int pid;

    private Target(Process nanny, Path dir, int pid) {
        this.nanny = nanny;
        this.dir = dir;
        this.pid = pid;
    }

    /** Where a target's stdin, stdout and stderr go. */
    public enum Stdio {
        /** stdout and stderr to {@code DIR/output} (what {@link #output()} reads); stdin a pipe from the JVM */
        OUTPUT_FILE,
        /** all three on /dev/null: nothing outside the test's own files (zdtm programs report in DIR/result) */
        DEV_NULL
    }

    /** Starts {@code zdtm/programs/NAME.c} with {@code DIR} as its first argument, then {@code args}. */
    public static Target start(String program, Path dir, String... args) {
        return start(program, dir, Stdio.OUTPUT_FILE, args);
    }

    /** Starts {@code zdtm/programs/NAME.c} with {@code DIR} as its first argument, then {@code args}, stdio as asked. */
    public static Target start(String program, Path dir, Stdio stdio, String... args) {
        return startIn(null, program, dir, stdio, args);
    }

    /**
     * Starts {@code zdtm/programs/NAME.c} as {@link #start(String, Path, Stdio, String...)} does, inside network
     * namespace file {@code netns} (null: this one), which the nanny joins before it starts the program
     * ({@code nsenter --net}: no fork, so the nanny is still the program's parent and subreaper).
     */
    public static Target startIn(String netns, String program, Path dir, Stdio stdio, String... args) {
        Path exe = Programs.build(program);
        Path nannyExe = Programs.build("nanny");
        List<String> cmd = new ArrayList<>();
        if (netns != null) {
            cmd.addAll(List.of("nsenter", "--net=" + netns));
        }
        cmd.addAll(List.of(nannyExe.toString(), exe.toString(), dir.toString()));
        cmd.addAll(List.of(args));
        try {
            Files.createDirectories(dir);
            Path ready = dir.resolve("ready");
            Files.deleteIfExists(ready);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            if (stdio == Stdio.DEV_NULL) {
                pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
            } else {
                pb.redirectErrorStream(true).redirectOutput(dir.resolve("output").toFile());
            }
            Process p = pb.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                if (Files.exists(ready)) {
                    String text = Files.readString(ready).trim();
                    if (text.endsWith("\n") || !text.isEmpty()) {
                        return new Target(p, dir, Integer.parseInt(text.trim()));
                    }
                }
                if (!p.isAlive()) {
                    Path said = dir.resolve(stdio == Stdio.DEV_NULL ? "result" : "output");
                    throw new IllegalStateException(program + " exited before it was ready: "
                            + (Files.exists(said) ? Files.readString(said).strip() : "(no " + said.getFileName() + ")"));
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException(program + " was not ready within 60 s");
                }
                Thread.sleep(20);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public int pid() {
        return pid;
    }

    public Path dir() {
        return dir;
    }

    public boolean isAlive() {
        return Files.exists(Path.of("/proc/" + pid)) && state(pid) != 'Z';
    }

    /** Asks the program to check its state (SIGUSR1) and returns what it wrote: "PASS" or the reason. */
    public String check() {
        return checkOf(pid, dir);
    }

    /** {@link #check()} of program {@code pid}, which answers in {@code DIR/check}: a restored copy answers where its original did. */
    static String checkOf(int pid, Path dir) {
        Path check = dir.resolve("check");
        try {
            Files.deleteIfExists(check);
            signal(pid, "USR1");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(check) || Files.size(check) == 0) {
                boolean alive = Files.exists(Path.of("/proc/" + pid)) && state(pid) != 'Z';
                if (System.nanoTime() > deadline || !alive) {
                    return "no answer to SIGUSR1 (alive: " + alive + ")" + (alive ? "; threads: " + threadStates(pid) : "");
                }
                Thread.sleep(20);
            }
            return Files.readString(check).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Each thread of {@code pid}: state, wait channel, syscall, blocked and pending signals; for a failure's message. */
    private static String threadStates(int pid) {
        StringBuilder out = new StringBuilder();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.sorted().toList()) {
                String status = Files.readString(t.resolve("status"));
                String stat = Files.readString(t.resolve("stat"));
                out.append('[').append(t.getFileName()).append(' ').append(stat.charAt(stat.lastIndexOf(')') + 2)).append(" wchan=")
                        .append(Files.readString(t.resolve("wchan")).trim()).append(" syscall=")
                        .append(Files.readString(t.resolve("syscall")).trim().split(" ")[0]);
                for (String key : List.of("SigBlk", "SigPnd", "ShdPnd", "TracerPid")) {
                    status.lines().filter(l -> l.startsWith(key + ":")).findFirst()
                            .ifPresent(l -> out.append(' ').append(l.replaceAll("\\s+", "")));
                }
                out.append(']');
            }
        } catch (IOException | RuntimeException e) {
            out.append("(").append(e.getMessage()).append(")");
        }
        return out.toString();
    }

    /**
     * Ends a zdtm program (SIGTERM) and returns its own verdict from {@code DIR/result}: "PASS" or
     * "FAIL: reason" (what it says when it checks its state on the way out).
     */
    public String verdict() {
        Path result = dir.resolve("result");
        try {
            signal(pid, "TERM");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(result) || Files.readString(result).isBlank()) {
                if (System.nanoTime() > deadline) {
                    return "no verdict in " + result + " within 60 s of SIGTERM (alive: " + isAlive() + ")";
                }
                if (!isAlive() && !Files.exists(result)) {
                    return "ended without a verdict (" + result + " missing)";
                }
                Thread.sleep(20);
            }
            return Files.readString(result).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Every live process below the nanny: the program and its descendants. */
    public List<Integer> processes() {
        List<Integer> out = new ArrayList<>();
        collect((int) nanny.pid(), out);
        out.remove(Integer.valueOf((int) nanny.pid()));
        return out;
    }

    static void collect(int pid, List<Integer> out) {
        out.add(pid);
        Path tasks = Path.of("/proc/" + pid + "/task");
        try (var ts = Files.list(tasks)) {
            for (Path t : ts.toList()) {
                String kids = Files.readString(t.resolve("children")).trim();
                for (String k : kids.split("\\s+")) {
                    if (!k.isEmpty()) {
                        collect(Integer.parseInt(k), out);
                    }
                }
            }
        } catch (IOException e) {
            // gone while we looked
        }
    }

    static char state(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException e) {
            return 'X';
        }
    }

    static void signal(int pid, String sig) {
        try {
            new ProcessBuilder("kill", "-" + sig, Integer.toString(pid)).start().waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for the nanny to finish (the program and its descendants gone); returns whether it did in time. */
    public boolean awaitExit(long seconds) {
        try {
            return nanny.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public String output() {
        try {
            return Files.readString(dir.resolve("output"));
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() {
        for (int p : processes()) {
            signal(p, "KILL");
        }
        if (!awaitExit(30)) {
            nanny.destroyForcibly();
        }
    }
}
