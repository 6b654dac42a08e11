package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

import dev.cryo.cli.GuardedDump;
import dev.cryo.cli.ProgressLine;
import dev.cryo.cli.StatsReport;
import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code cryo dump}: checkpoint a process tree into an images directory, with criu's option names. */
@Command(name = "dump", description = "Checkpoint the process tree rooted at PID into CRIU-format images.")
final class DumpCommand implements Callable<Integer> {
    @Mixin
    DumpTarget target;

    @Mixin
    PageServerTarget pageServer;

    @Mixin
    RemoteImages remote;

    @Option(names = {"-R", "--leave-running"}, description = "Let the tree run on after the dump (it is killed otherwise).")
    boolean leaveRunning;

    @Option(names = {"-j", "--shell-job"}, description = "The tree is a shell job: dump its terminal as external.")
    boolean shellJob;

    @Option(names = "--track-mem", description = "Use the write tracking that the pre-dumps set up.")
    boolean trackMem;

    @Option(names = {"-l", "--file-locks"}, description = "Dump the file locks the tree holds (flock, POSIX, OFD); without it a held lock refuses the dump.")
    boolean fileLocks;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws DumpException {
        PrintWriter err = spec.commandLine().getErr();
        DumpStats stats;
        try (ProgressLine progress = ProgressLine.onStderr(err, cryo.verbose())) {
            DumpOptions options = DumpOptions.of(target.pid, target.imagesDir)
                    .withLeaveRunning(leaveRunning)
                    .withShellJob(shellJob)
                    .withPrevImagesDir(target.prevImagesDir)
                    .withTrackMem(trackMem)
                    .withFileLocks(fileLocks)
                    .withWarmUp(!target.noWarmUp)
                    .withPageServer(pageServer.endpoint())
                    .withRemote(remote.proxy(pageServer))
                    .withListener(progress);
            stats = GuardedDump.run(options, err);
        }
        if (target.displayStats) {
            StatsReport.print(stats, spec.commandLine().getOut(), "", target.prevImagesDir != null);
        }
        return 0;
    }
}
