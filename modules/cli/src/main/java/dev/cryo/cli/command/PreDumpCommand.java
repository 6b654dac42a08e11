package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.cryo.cli.SignalGuard;
import dev.cryo.cli.Failure;
import dev.cryo.cli.ProgressLine;
import dev.cryo.cli.StatsReport;
import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.PreDumpMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code cryo pre-dump}: copy a running tree's memory, a step of an iterative dump; the tree runs on. */
@Command(name = "pre-dump", description = "Copy the memory of the tree rooted at PID while it runs on (a step before a dump).")
final class PreDumpCommand implements Callable<Integer> {
    @Mixin
    DumpTarget target;

    @Mixin
    PageServerTarget pageServer;

    @Mixin
    RemoteImages remote;

    @Option(names = "--pre-dump-mode", paramLabel = "splice|read", defaultValue = "splice",
            description = "splice: the tree vmsplices its pages into pipes while frozen; read: frozen only to list its"
                    + " mappings, pages copied through /proc/PID/mem while it runs. Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--track-mem", description = "Track written pages for the next step (a pre-dump always does).")
    boolean trackMem;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws DumpException {
        PreDumpMode m = switch (mode.toLowerCase(Locale.ROOT)) {
            case "splice" -> PreDumpMode.SPLICE;
            case "read" -> PreDumpMode.READ;
            default -> throw new Failure("--pre-dump-mode is splice or read, not " + mode);
        };
        PrintWriter err = spec.commandLine().getErr();
        DumpStats stats;
        try (ProgressLine progress = ProgressLine.onStderr(err, cryo.verbose())) {
            DumpOptions options = DumpOptions.of(target.pid, target.imagesDir).withListener(progress).withPreDumpMode(m)
                    .withPrevImagesDir(target.prevImagesDir).withTrackMem(true).withWarmUp(!target.noWarmUp)
                    .withPageServer(pageServer.endpoint()).withRemote(remote.proxy(pageServer));
            stats = SignalGuard.run(err, "the pre-dump of pid " + target.pid, cancel -> Dumper.preDump(options, cancel));
        }
        if (target.displayStats) {
            StatsReport.print(stats, spec.commandLine().getOut(), "", true);
        }
        return 0;
    }
}
