package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

import dev.cryo.cli.GuardedDump;
import dev.cryo.cli.ProgressLine;
import dev.cryo.cli.StatsReport;
import dev.cryo.cli.Failure;
import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.MemdumpMode;
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

    @Option(names = "--tcp-established", description = "Dump established TCP connections (TCP_REPAIR); they stay locked until restored.")
    boolean tcpEstablished;

    @Option(names = "--tcp-close", description = "Dump established TCP connections as sockets to restore closed.")
    boolean tcpClose;

    @Option(names = "--network-lock", paramLabel = "METHOD", defaultValue = "nftables",
            description = "How established connections are locked while dumped and until restored: nftables (the default) or skip.")
    NetworkLockMethod networkLock;

    @Option(names = {"-x", "--ext-unix-sk"}, description = "Allow unix sockets connected to a named socket outside the tree (restore connects them again).")
    boolean extUnixSk;
    @Option(names = {"-l", "--file-locks"}, description = "Dump the file locks the tree holds (flock, POSIX, OFD); without it a held lock refuses the dump.")
    boolean fileLocks;

    @Option(names = "--lazy-pages", description = "Post-copy: leave the private anonymous memory out of the images and serve it"
            + " on --address:--port (127.0.0.1 unless told) to one cryo lazy-pages daemon; the tree stays frozen meanwhile"
            + " (its pids held) and is killed once the daemon has taken its memory.")
    boolean lazyPages;

    @Option(names = "--memdump-mode", paramLabel = "auto|splice|read|held", defaultValue = "auto",
            description = "How the frozen tree's pages move (cryo's own option): splice: each process vmsplices them into a pipe"
                    + " that cryo splices into the pages image or onto the page server's socket (no copy through cryo);"
                    + " read: cryo reads them through /proc/PID/mem and writes them; held: a --leave-running dump into a"
                    + " directory of at most 96 MiB reads them into cryo's memory while frozen and writes them after the release"
                    + " (others as read); auto: splice for processes of 4 MiB or more whose pages go to a plain (not TLS) page"
                    + " server, held where that memory is cheap to touch, else read."
                    + " Default: ${DEFAULT-VALUE}.")
    String memdumpMode;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    /** Says on stdout, once the images are written, where the lazy pages wait: the images may be copied then. */
    private record LazyAnnouncer(ProgressLine progress, PrintWriter out) implements dev.cryo.dump.DumpListener {
        @Override
        public void pages(long done, long total) {
            progress.pages(done, total);
        }

        @Override
        public void log(String message) {
            progress.log(message);
        }

        @Override
        public void servingLazyPages(String where) {
            out.println("lazy pages served on " + where);
            out.flush();
        }
    }

    @Override
    public Integer call() throws DumpException {
        PrintWriter err = spec.commandLine().getErr();
        if (lazyPages && remote.remote) {
            throw new Failure("--lazy-pages with --remote: cryo cannot leave memory for a lazy restore through an image proxy yet");
        }
        DumpStats stats;
        try (ProgressLine progress = ProgressLine.onStderr(err, cryo.verbose())) {
            DumpOptions options = DumpOptions.of(target.pid, target.imagesDir)
                    .withLeaveRunning(leaveRunning)
                    .withShellJob(shellJob)
                    .withPrevImagesDir(target.prevImagesDir)
                    .withTrackMem(trackMem)
                    .withNetwork(new DumpOptions.Network(tcpEstablished, tcpClose, extUnixSk, networkLock == NetworkLockMethod.nftables))
                    .withFileLocks(fileLocks)
                    .withWarmUp(!target.noWarmUp)
                    .withMemdumpMode(switch (memdumpMode.toLowerCase(java.util.Locale.ROOT)) {
                        case "auto" -> MemdumpMode.AUTO;
                        case "splice" -> MemdumpMode.SPLICE;
                        case "read" -> MemdumpMode.READ;
                        case "held" -> MemdumpMode.HELD;
                        default -> throw new Failure("--memdump-mode is auto, splice, read or held, not " + memdumpMode);
                    })
                    .withPageServer(lazyPages ? null : pageServer.endpoint())
                    .withLazyPages(lazyPages ? pageServer.lazyServing() : null)
                    .withRemote(remote.proxy(pageServer))
                    .withListener(lazyPages ? new LazyAnnouncer(progress, spec.commandLine().getOut()) : progress);
            stats = GuardedDump.run(options, err);
        }
        if (target.displayStats) {
            StatsReport.print(stats, spec.commandLine().getOut(), "", target.prevImagesDir != null);
            if (lazyPages) {
                StatsReport.printLazy(stats, spec.commandLine().getOut(), "");
            }
        }
        return 0;
    }
}
