package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.cryo.cli.Failure;
import dev.cryo.cli.SignalGuard;
import dev.cryo.lazypages.Handoff;
import dev.cryo.lazypages.LazyPages;
import dev.cryo.lazypages.LazyPagesException;
import dev.cryo.restore.LazyHandoff;
import dev.cryo.syscalls.Fd;
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

    @Option(names = "--tcp-established", description = "Restore the established TCP connections of the dump, connected.")
    boolean tcpEstablished;

    @Option(names = "--tcp-close", description = "Restore the established TCP connections of the dump as closed sockets.")
    boolean tcpClose;

    @Option(names = "--network-lock", paramLabel = "METHOD", defaultValue = "nftables",
            description = "How the dump locked established connections: nftables (the default: the lock is lifted once they are restored) or skip.")
    NetworkLockMethod networkLock;

    @Option(names = {"-x", "--ext-unix-sk"}, description = "Connect unix sockets again to the named sockets outside the tree they were connected to.")
    boolean extUnixSk;

    @Option(names = "--display-stats", description = "Print the pid, pages restored and restore time, and the time of each step of the restore.")
    boolean displayStats;

    @Option(names = "--lazy-pages", description = "Restore lazily: private anonymous memory is mapped empty and filled on fault"
            + " (and in the background) by a cryo lazy-pages daemon, which must be listening on --lazy-addr.")
    boolean lazyPages;

    @Option(names = "--lazy-addr", paramLabel = "SOCK", description = "The lazy-pages daemon's unix socket. Default: DIR/lazy-pages.socket.")
    Path lazyAddr;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws RestoreException {
        PrintWriter err = spec.commandLine().getErr();
        if (lazyAddr != null && !lazyPages) {
            throw new Failure("--lazy-addr is for --lazy-pages");
        }
        if (lazyPages && remote.remote) {
            // the daemon reads the pagemaps from a directory; through the image cache it has none to read
            throw new Failure("--lazy-pages with --remote: cryo cannot restore lazily from an image cache yet");
        }
        RestoreOptions options = RestoreOptions.of(imagesDir).withDetached(detached).withPidns(pidns).withShellJob(shellJob)
                .withNetwork(new RestoreOptions.Network(tcpEstablished, tcpClose, extUnixSk, networkLock == NetworkLockMethod.nftables))
                .withOrphan(detached && dev.cryo.cli.Main.exitsAfterCommand()) // cryo exits next: no parent of cryo's stays
                .withRemote(remote.cache());
        String what = "the restore " + (remote.remote ? "of snapshot " : "from ") + imagesDir;
        RestoreStats s;
        if (lazyPages) {
            // Connected before anything starts: without its daemon a lazy restore cannot run.
            try (Handoff daemon = Handoff.connect(lazyAddr != null ? lazyAddr : imagesDir.resolve(LazyPages.DEFAULT_SOCKET))) {
                RestoreOptions lazy = options.withLazyPages(new LazyHandoff() {
                    @Override
                    public void hand(int pid, Fd uffd, Fd pidfd) {
                        daemon.send(pid, uffd, pidfd); // the daemon takes it while the restore goes on
                    }

                    @Override
                    public void confirm() {
                        daemon.confirm();
                    }

                    @Override
                    public void released() {
                        daemon.released();
                    }
                });
                s = SignalGuard.run(err, what, cancel -> Restorer.restore(lazy, cancel));
            } catch (LazyPagesException e) {
                throw new Failure(e.getMessage(), e);
            }
        } else {
            s = SignalGuard.run(err, what, cancel -> Restorer.restore(options, cancel));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (displayStats || detached) {
            out.printf(Locale.ROOT, "restored pid %d: %d pages in %.2f ms%n", s.rootPid(), s.pagesRestored(), s.restoreNanos() / 1e6);
            if (displayStats) {
                for (RestoreStats.Step step : s.steps()) {
                    out.printf(Locale.ROOT, "  %-44s %8.2f ms%s%n", step.name(), step.nanos() / 1e6,
                            step.times() > 1 ? " (" + step.times() + " times)" : "");
                }
            }
            out.flush();
        }
        return detached ? 0 : Math.max(s.exitCode(), 0);
    }
}
