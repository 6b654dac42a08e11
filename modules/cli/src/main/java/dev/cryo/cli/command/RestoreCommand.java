package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.cryo.cli.SignalGuard;
import dev.cryo.restore.RestoreException;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.RestoreStats;
import dev.cryo.restore.Restorer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cryo restore}: bring a dumped process back from its images, with criu's option names.
 * Every process and thread gets its dumped pid back; with {@code --pidns} inside a new pid namespace.
 */
@Command(name = "restore", description = "Restore a process tree from CRIU-format images, with its pids, threads, sessions and groups.")
final class RestoreCommand implements Callable<Integer> {
    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", required = true,
            description = "Directory holding a complete dump; with --remote, the snapshot to read from the image cache (the dump's -D).")
    Path imagesDir;

    @Mixin
    RemoteImages remote;

    @Option(names = {"-d", "--restore-detached"}, description = "Return once the process runs, instead of waiting for it to end.")
    boolean detached;

    @Option(names = "--pidns", description = "Restore into a new pid namespace (pids inside as at dump), e.g. beside the original of a --leave-running dump.")
    boolean pidns;

    @Option(names = {"-j", "--shell-job"}, description = "The dump is a shell job (dumped with --shell-job): join cryo's session, reopen its terminal by path.")
    boolean shellJob;

    @Option(names = "--display-stats", description = "Print the pid, pages restored and restore time.")
    boolean displayStats;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws RestoreException {
        PrintWriter err = spec.commandLine().getErr();
        RestoreOptions options = RestoreOptions.of(imagesDir).withDetached(detached).withPidns(pidns).withShellJob(shellJob)
                .withOrphan(detached && dev.cryo.cli.Main.exitsAfterCommand()) // cryo exits next: no parent of cryo's stays
                .withRemote(remote.cache());
        RestoreStats s = SignalGuard.run(err, "the restore " + (remote.remote ? "of snapshot " : "from ") + imagesDir, cancel -> Restorer.restore(options, cancel));
        PrintWriter out = spec.commandLine().getOut();
        if (displayStats || detached) {
            out.printf(Locale.ROOT, "restored pid %d: %d pages in %.2f ms%n", s.rootPid(), s.pagesRestored(), s.restoreNanos() / 1e6);
            out.flush();
        }
        return detached ? 0 : Math.max(s.exitCode(), 0);
    }
}
