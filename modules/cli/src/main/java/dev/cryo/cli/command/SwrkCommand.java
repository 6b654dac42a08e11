package dev.cryo.cli.command;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;

import dev.cryo.cli.Failure;
import dev.cryo.service.RpcConnection;
import dev.cryo.service.ServiceLog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code cryo swrk FD}: CRIU's RPC to one client on an inherited socket, as libcriu and pycriu's
 * {@code use_binary} start {@code criu swrk FD}; ends when the client is done.
 */
@Command(name = "swrk", description = "Serve CRIU's RPC to the one client at the other end of FD, an inherited unix"
        + " SOCK_SEQPACKET socket (as pycriu's use_binary and libcriu start 'criu swrk FD'), then exit.")
final class SwrkCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FD", description = "The socket's fd number.")
    int fd;

    @Option(names = "--no-warm-up", description = "Do not rehearse a dump or pre-dump on a decoy first (see dump --help).")
    boolean noWarmUp;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        ServiceLog log = cryo.verbose() ? ServiceLog.to(err, "cryo swrk: ") : ServiceLog.SILENT;
        RpcConnection connection;
        try {
            connection = RpcConnection.adopt(fd, log, !noWarmUp);
        } catch (IllegalArgumentException | IOException e) {
            throw new Failure("swrk: " + e.getMessage(), e);
        }
        // SIGTERM or Ctrl-C: the running request is cancelled and unwinds (its tree released) before the JVM ends
        Runtime.getRuntime().addShutdownHook(new Thread(connection::close, "cryo-swrk-stop"));
        connection.serve();
        return 0;
    }
}
