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

import dev.cryo.cli.Failure;
import dev.cryo.cli.GuardedDump;
import dev.cryo.cli.ProgressLine;
import dev.cryo.cli.StatsReport;
import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.parasite.Cancellation;
import dev.cryo.restore.RestoreException;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.RestoreStats;
import dev.cryo.restore.Restorer;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;
import dev.cryo.syscalls.Syscall;
import dev.cryo.syscalls.Wait;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code cryo demo}: a small process that counts is checkpointed (and so stopped), its images are shown, and
 * it is restored and counts on from where it stopped. Each step is a method that prints one line saying what
 * it does; the counter is stopped on every way out.
 */
@Command(name = "demo", description = "Checkpoint a small counting process, show the images, restore it and watch it count on.")
final class DemoCommand implements Callable<Integer> {
    private static final String SHOWN_IMAGE = "pstree.img";

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    private PrintWriter out;
    private int step;

    @Override
    public Integer call() throws IOException, DumpException, RestoreException, InterruptedException {
        out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "cryo-demo-");
        out.println("cryo demo: checkpoint a running process, in " + dir);
        try (Counter counter = startCounter(dir)) {
            letItCount(counter);
            Path images = dump(counter, dir.resolve("images"));
            long stoppedAt = checkStopped(counter);
            listImages(images);
            showImage(images.resolve(SHOWN_IMAGE));
            restore(counter, images);
            checkCountsOn(counter, stoppedAt);
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
        say("started a small python3 loop (pid " + counter.pid + ") that writes 1, 2, 3... to " + counter.file
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
        say("cryo dump -t " + counter.pid + " -D " + images + " --display-stats   (the counter is stopped by the dump)");
        DumpStats stats;
        PrintWriter err = spec.commandLine().getErr();
        try (ProgressLine progress = ProgressLine.onStderr(err, cryo.verbose())) {
            stats = GuardedDump.run(DumpOptions.of(counter.pid, images).withListener(progress).withWarmUp(true), err);
        }
        StatsReport.print(stats, out, "    ");
        counter.reap(); // the dump killed it; cryo is its subreaper
        return images;
    }

    private long checkStopped(Counter counter) throws InterruptedException {
        long at = counter.value();
        Thread.sleep(600); // three of its beats
        if (counter.value() != at || Files.exists(Path.of("/proc/" + counter.pid))) {
            throw new Failure("the counter (pid " + counter.pid + ") still runs after the dump");
        }
        say("the counter is gone (no /proc/" + counter.pid + ") and its file stays at " + at);
        return at;
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

    private void restore(Counter counter, Path images) throws RestoreException {
        say("cryo restore -D " + images + " -d --display-stats");
        RestoreStats s = Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation());
        if (s.rootPid() != counter.pid) {
            throw new Failure("the counter came back as pid " + s.rootPid() + ", not " + counter.pid);
        }
        out.printf(Locale.ROOT, "    restored pid %d: %d pages in %.2f ms%n", s.rootPid(), s.pagesRestored(), s.restoreNanos() / 1e6);
    }

    private void checkCountsOn(Counter counter, long stoppedAt) throws InterruptedException {
        long after = counter.waitFor(stoppedAt + 5, TimeUnit.SECONDS.toNanos(5));
        if (after <= stoppedAt) {
            throw new Failure("the restored counter (pid " + counter.pid + ") does not count: its file stays at " + after);
        }
        say("restored with the same pid, it counts on from where it stopped: " + stoppedAt + " -> " + after);
    }

    private void stop(Counter counter) {
        counter.close();
        say("stopped the counter (kill -TERM " + counter.pid + ")");
    }

    /**
     * The demo's workload: python3 counting into a file that it opens, writes and closes on each beat, so that
     * it is one single-threaded process holding no files between beats. It is started by a wrapper shell that
     * backgrounds it and exits, so that it is reparented away from the JVM (whose process reaper must not see
     * its stops) to cryo as subreaper, and under setsid, in a session of its own.
     */
    private static final class Counter implements AutoCloseable {
        private static final String LOOP = String.join("\n",
                "import os, sys, time",
                "count, pid = sys.argv[1], sys.argv[2]",
                "with open(pid + '.tmp', 'w') as f: f.write(str(os.getpid()))",
                "os.rename(pid + '.tmp', pid)",
                "i = 0",
                "while True:",
                "    i += 1",
                "    with open(count + '.tmp', 'w') as f: f.write(str(i))",
                "    os.rename(count + '.tmp', count)",
                "    time.sleep(0.2)");

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
            Syscall.call("prctl(PR_SET_CHILD_SUBREAPER)", Kernel.__NR_prctl, Kernel.PR_SET_CHILD_SUBREAPER, 1);
            Process wrapper = new ProcessBuilder("sh", "-c",
                    "command -v python3 >/dev/null || exit 3; setsid python3 -c \"$1\" \"$2\" \"$3\" </dev/null >/dev/null 2>&1 &",
                    "sh", LOOP, file.toString(), pidFile.toString())
                    .redirectErrorStream(true).start();
            if (!wrapper.waitFor(5, TimeUnit.SECONDS) || wrapper.exitValue() != 0) {
                wrapper.destroyForcibly();
                throw new Failure(wrapper.isAlive() || wrapper.exitValue() != 3 ? "cannot start the demo's counter with sh and setsid"
                        : "the demo needs python3 for its counting process (apt-get install python3)");
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(pidFile)) {
                if (System.nanoTime() > deadline) {
                    throw new Failure("the demo's counter did not start (no " + pidFile + ")");
                }
                Thread.sleep(20);
            }
            return new Counter(Integer.parseInt(Files.readString(pidFile).trim()), file);
        }

        /** The count now; 0 before the first write (the file is replaced whole by a rename). */
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
                Signals.kill(pid, Kernel.SIGTERM);
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

        /**
         * Waits until the counter is gone and reaps it if it is cryo's (it is until the dump; the restored one is
         * the child of the restore's keeper, which reaps it), so that no zombie stays behind.
         */
        void reap() {
            for (int i = 0; i < 250 && Files.exists(Path.of("/proc/" + pid)); i++) {
                try {
                    Wait.waitPid(pid, Kernel.__WALL | Kernel.WNOHANG);
                } catch (ErrnoException notOurs) {
                    // ECHILD: the restored counter, reaped by the keeper
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
