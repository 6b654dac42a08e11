package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.cryo.cli.GuardedDump;
import dev.cryo.cli.ProgressLine;
import dev.cryo.cli.StatsReport;
import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code cryo dump}: checkpoint a process tree into an images directory, with criu's option names. */
@Command(name = "dump", description = "Checkpoint the process tree rooted at PID into CRIU-format images.")
final class DumpCommand implements Callable<Integer> {
    @Option(names = {"-t", "--tree"}, paramLabel = "PID", required = true, description = "Root of the tree to dump.")
    int pid;

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", required = true,
            description = "Existing, empty directory that receives the images.")
    Path imagesDir;

    @Option(names = {"-R", "--leave-running"}, description = "Let the tree run on after the dump (it is killed otherwise).")
    boolean leaveRunning;

    @Option(names = {"-j", "--shell-job"}, description = "The tree is a shell job: dump its terminal as external.")
    boolean shellJob;

    @Option(names = "--display-stats", description = "Print frozen time, memdump time, pages and total time.")
    boolean displayStats;

    @Option(names = "--prev-images-dir", paramLabel = "REL",
            description = "The last pre-dump, relative to DIR (e.g. ../pre2): pages unchanged since are left there.")
    Path prevImagesDir;

    @Option(names = "--track-mem", description = "Use the write tracking that the pre-dumps set up.")
    boolean trackMem;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws DumpException {
        PrintWriter err = spec.commandLine().getErr();
        DumpStats stats;
        try (ProgressLine progress = ProgressLine.onStderr(err, cryo.verbose())) {
            DumpOptions options = DumpOptions.of(pid, imagesDir)
                    .withLeaveRunning(leaveRunning)
                    .withShellJob(shellJob)
                    .withPrevImagesDir(prevImagesDir)
                    .withTrackMem(trackMem)
                    .withListener(progress);
            stats = GuardedDump.run(options, err);
        }
        if (displayStats) {
            if (prevImagesDir != null) {
                PreDumpCommand.print(stats, spec.commandLine().getOut());
            } else {
                StatsReport.print(stats, spec.commandLine().getOut(), "");
            }
        }
        return 0;
    }
}
