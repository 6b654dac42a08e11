package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

import dev.cryo.cli.Failure;
import dev.cryo.cli.SignalGuard;
import dev.cryo.migrate.MigrationException;
import dev.cryo.migrate.MigrationServer;
import dev.cryo.syscalls.TcpSocket;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code cryo migrate-server}: live migration, the destination's side; serves one migration, then exits. */
@Command(name = "migrate-server", description = {
        "Live migration, the destination's side: take one migration from cryo migrate on --address:--port, hold its images"
                + " in an image cache (in memory, on the same address, a port of its own), restore the tree when the source says,"
                + " and keep it once the source has committed (a source that fails or goes away before gets the copy killed).",
        "Says where it listens on its first line, and the restored pid on its last; exits after one migration."})
final class MigrateServerCommand implements Callable<Integer> {
    @Option(names = "--address", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "IP address to listen on. Default: ${DEFAULT-VALUE}.")
    String address;

    @Option(names = "--port", paramLabel = "PORT", required = true, description = "TCP port to listen on; 0 picks a free one.")
    int port;

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", required = true,
            description = "An existing directory of the server's own (its image cache's local socket lives there).")
    Path dir;

    @Option(names = "--pidns", description = "Restore into a new pid namespace (pids inside as at the source): needed when the"
            + " source's pids are taken here, as when both hosts are one machine.")
    boolean pidns;

    @Option(names = "--join-ns", paramLabel = "net:FILE", description = "Restore the tree into this network namespace (a file such as"
            + " /var/run/netns/NAME or /proc/PID/ns/net): the tree's own, which both hosts reach, as a container's. Only net.")
    String joinNs;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "How long the source may stay silent (a pre-copy round included) before it is taken for gone and what"
                    + " it sent is dropped (default: ${DEFAULT-VALUE}).")
    int timeout;

    @Mixin
    TlsOptions tls;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!Files.isDirectory(dir)) {
            throw new Failure("-D " + dir + ": not a directory");
        }
        Consumer<String> log = cryo.daemonLog(err, "migrate-server");
        String treeNetns = null;
        if (joinNs != null) {
            if (!joinNs.startsWith("net:") || joinNs.length() == 4) {
                throw new Failure("--join-ns takes net:FILE (only the network namespace can be joined), not " + joinNs);
            }
            treeNetns = joinNs.substring(4);
            if (!Files.exists(Path.of(treeNetns))) {
                throw new Failure("--join-ns " + joinNs + ": no such file");
            }
        }
        if (timeout <= 0 || timeout > 86400) {
            throw new Failure("--timeout " + timeout + ": 1 to 86400 seconds");
        }
        MigrationServer.Options o;
        try {
            o = new MigrationServer.Options(TcpSocket.address(address), port, dir, pidns, tls.tls(), dev.cryo.cli.Main.exitsAfterCommand(),
                    treeNetns, java.time.Duration.ofSeconds(timeout));
        } catch (IllegalArgumentException e) {
            throw new Failure("--address: " + e.getMessage());
        }
        try (MigrationServer server = MigrationServer.listen(o, log)) {
            out.printf(Locale.ROOT, "migration server listening on %s%n", TcpSocket.format(new InetSocketAddress(o.address(), server.port())));
            out.flush();
            MigrationServer.Result r = SignalGuard.run(err, "the migration server", cancel -> {
                Thread stopper = Thread.ofPlatform().daemon(true).start(() -> {
                    try {
                        while (!cancel.isCancelled()) {
                            Thread.sleep(100);
                        }
                        server.close();
                    } catch (InterruptedException e) {
                        // done
                    }
                });
                try {
                    return server.serve(cancel);
                } finally {
                    stopper.interrupt();
                }
            });
            out.printf(Locale.ROOT, "migrated from %s: restored pid %d after %d pre-copy rounds, in %.1f ms%n", r.source(), r.rootPid(),
                    r.rounds(), r.restoreNanos() / 1e6);
            out.flush();
        } catch (MigrationException e) {
            throw new Failure(e.getMessage(), e);
        }
        return 0;
    }
}
