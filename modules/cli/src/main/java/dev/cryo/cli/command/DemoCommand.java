package dev.cryo.cli.command;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import dev.cryo.bindings.Linux;
import dev.cryo.cli.Failure;
import dev.cryo.cli.GuardedDump;
import dev.cryo.cli.ProgressLine;
import dev.cryo.cli.StatsReport;
import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Signals;
import dev.cryo.syscalls.Syscall;
import dev.cryo.syscalls.Wait;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code cryo demo}: a small shell loop that counts, checkpointed while it keeps counting. Each step is a
 * method that prints one line saying what it does; the counter is stopped on every way out.
 */
@Command(name = "demo", description = "Checkpoint a small counting process, show the images, and check it still runs.")
final class DemoCommand implements Callable<Integer> {
    private static final String SHOWN_IMAGE = "pstree.img";

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    private PrintWriter out;
    private int step;

    @Override
    public Integer call() throws IOException, DumpException, InterruptedException {
        out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "cryo-demo-");
        out.println("cryo demo: checkpoint a running process, in " + dir);
        try (Counter counter = startCounter(dir)) {
            letItCount(counter);
            Path images = dump(counter, dir.resolve("images"));
            listImages(images);
            showImage(images.resolve(SHOWN_IMAGE));
            checkStillCounting(counter);
            stop(counter);
            out.println("The images stay in " + images + "; crit decode -i FILE --pretty reads them too.");
        }
        return 0;
    }

    private void say(String what) {
        out.printf(Locale.ROOT, "[%d] %s%n", ++step, what);
        out.flush();
    }

    private Counter startCounter(Path dir) throws IOException, InterruptedException {
        Counter counter = Counter.start(dir);
        say("started a shell loop (pid " + counter.pid + ") that writes 1, 2, 3... to " + counter.file
                + " every 0.2 s; it is not cryo's child");
        return counter;
    }

    private void letItCount(Counter counter) throws InterruptedException {
        long n = counter.waitFor(5, TimeUnit.SECONDS.toNanos(5));
        if (n == 0) {
            throw new Failure("the demo's counter (pid " + counter.pid + ") wrote nothing to " + counter.file);
        }
        say("let it count: it is at " + n);
    }

    private Path dump(Counter counter, Path images) throws IOException, DumpException {
        Files.createDirectory(images);
        say("cryo dump -t " + counter.pid + " -D " + images + " --leave-running --display-stats");
        DumpStats stats;
        PrintWriter err = spec.commandLine().getErr();
        try (ProgressLine progress = ProgressLine.onStderr(err, cryo.verbose())) {
            stats = GuardedDump.run(DumpOptions.of(counter.pid, images).withLeaveRunning(true).withListener(progress), err);
        }
        StatsReport.print(stats, out, "    ");
        return images;
    }

    private void listImages(Path images) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(images)) {
            files = s.sorted().toList();
        }
        long total = 0;
        for (Path f : files) {
            total += Files.size(f);
        }
        say("the dump wrote " + files.size() + " images, " + total + " bytes:");
        for (Path f : files) {
            out.printf(Locale.ROOT, "    %-24s %10d bytes%n", f.getFileName(), Files.size(f));
        }
    }

    private void showImage(Path image) {
        say("cryo show " + image + " (the process tree, as JSON):");
        out.println(ShowCommand.json(image).indent(4).stripTrailing());
    }

    private void checkStillCounting(Counter counter) throws InterruptedException {
        long before = counter.value();
        long after = counter.waitFor(before + 3, TimeUnit.SECONDS.toNanos(5));
        if (after <= before) {
            throw new Failure("the counter stopped at " + before + " after the dump");
        }
        say("it still counts after the dump: " + before + " -> " + after);
    }

    private void stop(Counter counter) {
        counter.close();
        say("stopped the counter (kill -TERM -" + counter.pid + ")");
    }

    /**
     * The demo's workload: {@code sh} counting into a file, started by a wrapper shell that backgrounds it
     * and exits, so that it is reparented away from the JVM (whose process reaper must not see its stops),
     * and in a session of its own, so that one signal to its group stops it and its {@code sleep}.
     */
    private static final class Counter implements AutoCloseable {
        private final int pid;
        private final Path file;
        private final Thread stopOnExit;

        private Counter(int pid, Path file) {
            this.pid = pid;
            this.file = file;
            this.stopOnExit = new Thread(this::kill, "cryo-demo-stop");
            Runtime.getRuntime().addShutdownHook(stopOnExit);
        }

        static Counter start(Path dir) throws IOException, InterruptedException {
            Path file = dir.resolve("counter");
            Path pidFile = dir.resolve("counter.pid");
            // The wrapper exits at once; its orphans come back to cryo rather than to an init that may not reap them.
            Syscall.call("prctl(PR_SET_CHILD_SUBREAPER)", Linux.__NR_prctl(), Linux.PR_SET_CHILD_SUBREAPER(), 1);
            String loop = "echo $$ > " + pidFile + "; i=0; while :; do i=$((i+1)); echo $i > " + file + "; sleep 0.2; done";
            Process wrapper = new ProcessBuilder("sh", "-c",
                    "setsid sh -c \"$1\" cryo-demo-counter </dev/null >/dev/null 2>&1 &", "sh", loop)
                    .redirectErrorStream(true).start();
            if (!wrapper.waitFor(5, TimeUnit.SECONDS) || wrapper.exitValue() != 0) {
                wrapper.destroyForcibly();
                throw new Failure("cannot start the demo's counter with sh and setsid");
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!Files.exists(pidFile) || Files.readString(pidFile).isBlank()) {
                if (System.nanoTime() > deadline) {
                    throw new Failure("the demo's counter did not start (no " + pidFile + ")");
                }
                Thread.sleep(20);
            }
            return new Counter(Integer.parseInt(Files.readString(pidFile).trim()), file);
        }

        /** The count now; 0 before the first write (the file is rewritten in place, so it may read empty). */
        long value() {
            try {
                String s = Files.readString(file).trim();
                return s.isEmpty() ? 0 : Long.parseLong(s);
            } catch (IOException | NumberFormatException e) {
                return 0;
            }
        }

        /** Waits until the count reaches {@code target} or the time is up, and returns the count. */
        long waitFor(long target, long nanos) throws InterruptedException {
            long deadline = System.nanoTime() + nanos;
            long v;
            while ((v = value()) < target && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            return v;
        }

        private void kill() {
            try {
                // setsid made the counter leader of its process group: this reaches its sleep too.
                Signals.kill(-pid, Linux.SIGTERM());
            } catch (ErrnoException gone) {
                // already stopped
            }
        }

        @Override
        public void close() {
            kill();
            try {
                Runtime.getRuntime().removeShutdownHook(stopOnExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
            reap();
        }

        /** Reaps the counter's process group (cryo is its subreaper), so that no zombie stays behind. */
        private void reap() {
            for (int i = 0; i < 100; i++) {
                try {
                    Wait.Status st = Wait.waitPid(-pid, Linux.__WALL() | Linux.WNOHANG());
                    if (st == null) {
                        Thread.sleep(20);
                    }
                } catch (ErrnoException noChildren) {
                    return;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
