package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.nio.file.Path;
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
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code cryo pre-dump}: copy a running tree's memory, a step of an iterative dump; the tree runs on. */
@Command(name = "pre-dump", description = "Copy the memory of the tree rooted at PID while it runs on (a step before a dump).")
final class PreDumpCommand implements Callable<Integer> {
    @Option(names = {"-t", "--tree"}, paramLabel = "PID", required = true, description = "Root of the tree.")
    int pid;

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", required = true,
            description = "Existing, empty directory that receives the images.")
    Path imagesDir;

    @Option(names = "--pre-dump-mode", paramLabel = "splice|read", defaultValue = "splice",
            description = "splice: the tree vmsplices its pages into pipes while frozen; read: frozen only to list its"
                    + " mappings, pages copied through /proc/PID/mem while it runs. Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--prev-images-dir", paramLabel = "REL",
            description = "The previous pre-dump, relative to DIR (e.g. ../pre1): unchanged pages are left there.")
    Path prevImagesDir;

    @Option(names = "--track-mem", description = "Track written pages for the next step (a pre-dump always does).")
    boolean trackMem;

    @Option(names = "--display-stats", description = "Print frozen time, memdump time and page counts.")
    boolean displayStats;

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
            DumpOptions options = DumpOptions.of(pid, imagesDir).withListener(progress).withPreDumpMode(m)
                    .withPrevImagesDir(prevImagesDir).withTrackMem(true);
            stats = SignalGuard.run(err, "the pre-dump of pid " + pid, cancel -> Dumper.preDump(options, cancel));
        }
        if (displayStats) {
            print(stats, spec.commandLine().getOut());
        }
        return 0;
    }

    /** The common figures, then those of iterative steps. */
    static void print(DumpStats s, PrintWriter out) {
        StatsReport.print(s, out, "");
        out.printf(Locale.ROOT, "%-14s %12d%n", "pages skipped:", s.pagesInParent());
        out.printf(Locale.ROOT, "%-14s %12s%n", "pinned peak:", String.format(Locale.ROOT, "%.1f MiB", s.peakPinnedBytes() / 1048576.0));
        out.printf(Locale.ROOT, "%-14s %12s%n", "dirty tracker:", s.tracker());
        out.flush();
    }
}
