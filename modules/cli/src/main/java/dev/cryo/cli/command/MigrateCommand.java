package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.cryo.cli.Failure;
import dev.cryo.cli.ProgressLine;
import dev.cryo.cli.SignalGuard;
import dev.cryo.cli.Terminal;
import dev.cryo.dump.DumpOptions;
import dev.cryo.migrate.Migration;
import dev.cryo.migrate.MigrationException;
import dev.cryo.migrate.PreCopy;
import dev.cryo.syscalls.TcpSocket;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code cryo migrate}: live migration of a running tree to a {@code cryo migrate-server}, the source's side. */
@Command(name = "migrate", description = {
        "Live migration, the source's side: move the running tree rooted at PID to the cryo migrate-server at --to.",
        "Pre-copy rounds send its memory while it runs, the final dump freezes it and sends what changed since, the"
                + " destination restores it, and only then is the tree here killed. Any failure before that leaves it running here"
                + " and the destination clean; a failure after it says so and where the tree runs."})
final class MigrateCommand implements Callable<Integer> {
    @Option(names = {"-t", "--tree"}, paramLabel = "PID", required = true, description = "Root of the tree.")
    int pid;

    @Option(names = "--to", paramLabel = "ADDR:PORT", required = true, description = "The migration server (cryo migrate-server).")
    String to;

    @Option(names = "--pre-copy", paramLabel = "auto|N", defaultValue = "auto",
            description = "Pre-copy rounds before the final dump: a number (0: none), or auto (the default): stop once a round's"
                    + " pages would cross the link in 50 ms, or a round sends more than 80%% of the one before, or after 8;"
                    + " with --post-copy, auto runs one round (later ones would only lengthen the chain the final dump and the"
                    + " restore walk).")
    String preCopy;

    @Option(names = "--post-copy", description = "Post-copy: the final dump leaves the private anonymous memory in the frozen tree, the"
            + " destination restores lazily and runs the tree at once, its memory following on fault and in the background. The"
            + " point of no return is then the destination's lazy-pages daemon connecting, during its restore (before the tree's files);"
            + " pages that pre-copy sent come from the destination's own image cache, only those written since from here.")
    boolean postCopy;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "How long the destination may stay silent (its restore included) before it is taken for gone and the tree"
                    + " runs on here (default: ${DEFAULT-VALUE}).")
    int timeout;

    @Option(names = "--tcp-established", description = "Migrate established TCP connections (TCP_REPAIR).")
    boolean tcpEstablished;

    @Option(names = "--tcp-close", description = "Migrate established TCP connections as sockets restored closed.")
    boolean tcpClose;

    @Option(names = "--network-lock", paramLabel = "METHOD", defaultValue = "nftables",
            description = "How established connections are locked while migrated: nftables (the default) or skip.")
    NetworkLockMethod networkLock;

    @Option(names = {"-x", "--ext-unix-sk"}, description = "Allow unix sockets connected to a named socket outside the tree.")
    boolean extUnixSk;

    @Option(names = {"-j", "--shell-job"}, description = "The tree is a shell job: dump its terminal as external; the destination"
            + " restores it into its own cryo's session.")
    boolean shellJob;

    @Option(names = {"-l", "--file-locks"}, description = "Migrate the file locks the tree holds.")
    boolean fileLocks;

    @Option(names = "--display-stats", description = "Print each round's pages, bytes and time, then the frozen time, the downtime"
            + " and the bytes sent against the tree's memory.")
    boolean displayStats;

    @Mixin
    TlsOptions tls;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        PreCopy rounds = preCopy();
        int colon = to.lastIndexOf(':');
        InetAddress address;
        int port;
        try {
            if (colon <= 0) {
                throw new IllegalArgumentException("ADDR:PORT expected");
            }
            address = TcpSocket.address(to.substring(0, colon).replaceAll("^\\[|\\]$", ""));
            port = Integer.parseInt(to.substring(colon + 1));
            if (port <= 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + " out of range");
            }
        } catch (IllegalArgumentException e) {
            throw new Failure("--to " + to + ": " + e.getMessage());
        }
        if (timeout <= 0 || timeout > 86400) {
            throw new Failure("--timeout " + timeout + ": 1 to 86400 seconds");
        }
        Migration.Options o = new Migration.Options(pid, address, port, tls.tls(), rounds,
                new DumpOptions.Network(tcpEstablished, tcpClose, extUnixSk, networkLock == NetworkLockMethod.nftables), fileLocks, postCopy, shellJob,
                java.time.Duration.ofSeconds(timeout));
        Migration.Stats s;
        boolean terminal = Terminal.isTerminal(2);
        try (ProgressLine progress = ProgressLine.onStderr(err, cryo.verbose())) {
            Migration.Listener listener = new Migration.Listener() {
                @Override
                public void phase(String what) {
                    progress.log(what);
                    if (terminal && !cryo.verbose()) {
                        synchronized (progress) {
                            err.print("\r\033[Kcryo: " + what + "\n");
                            err.flush();
                        }
                    }
                }

                @Override
                public void pages(long done, long total) {
                    progress.pages(done, total);
                }

                @Override
                public void round(Migration.Round r) {
                    if (terminal || cryo.verbose()) {
                        progress.close();
                        err.printf(Locale.ROOT, "cryo: round %d: %d pages (%.1f MiB) in %.1f ms%n", r.number(), r.pages(),
                                r.bytes() / 1048576.0, r.nanos() / 1e6);
                        err.flush();
                    }
                }

                @Override
                public void log(String message) {
                    progress.log(message);
                }
            };
            s = SignalGuard.run(err, "the migration of pid " + pid, cancel -> Migration.run(o, listener, cancel));
        } catch (MigrationException e) {
            throw new Failure(e.getMessage(), e);
        }
        out.printf(Locale.ROOT, "migrated pid %d: it runs on %s as pid %d%n", pid, to, s.remotePid());
        if (displayStats) {
            for (Migration.Round r : s.rounds()) {
                out.printf(Locale.ROOT, "round %d:       %d pages, %.1f MiB, %.1f ms%n", r.number(), r.pages(), r.bytes() / 1048576.0,
                        r.nanos() / 1e6);
            }
            Migration.Round f = s.finalDump();
            out.printf(Locale.ROOT, "final dump:    %d pages, %.1f MiB, %.1f ms%n", f.pages(), f.bytes() / 1048576.0, f.nanos() / 1e6);
            out.printf(Locale.ROOT, "frozen time:   %.1f ms (the tree on the source, until killed)%n", s.frozenNanos() / 1e6);
            out.printf(Locale.ROOT, "downtime:      %.1f ms (from the freeze until the destination's copy ran)%n", s.downtimeNanos() / 1e6);
            out.printf(Locale.ROOT, "restore time:  %.1f ms (on the destination; %d pages written by the restore)%n", s.restoreNanos() / 1e6,
                    s.restorePages());
            if (s.postCopy() != null) {
                Migration.PostCopy p = s.postCopy();
                out.printf(Locale.ROOT, "post-copy:     %.1f ms until all memory was resident on the destination; %d pages (%.1f MiB) sent"
                        + " lazily of %d left by the final dump, %d faults%n", p.residentNanos() / 1e6, p.pages(), p.bytes() / 1048576.0,
                        p.leftLazy(), p.faults());
            }
            out.printf(Locale.ROOT, "total time:    %.1f ms%n", s.totalNanos() / 1e6);
            out.printf(Locale.ROOT, "on the wire:   %.1f MiB of images for %.1f MiB of memory (%.2fx)%n", s.wireBytes() / 1048576.0,
                    s.treeBytes() / 1048576.0, s.treeBytes() == 0 ? 0.0 : (double) s.wireBytes() / s.treeBytes());
        }
        out.flush();
        return 0;
    }

    private PreCopy preCopy() {
        if (preCopy.equals("auto")) {
            return PreCopy.auto();
        }
        try {
            return new PreCopy(Integer.parseInt(preCopy));
        } catch (IllegalArgumentException e) {
            throw new Failure("--pre-copy is auto or a number of rounds from 0 to 64, not " + preCopy);
        }
    }
}
