package dev.cryo.cli.command;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.cryo.cli.Failure;
import dev.cryo.service.RpcService;
import dev.cryo.service.ServiceLog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code cryo service}: CRIU's RPC service on a unix socket, in a JVM that stays warm, until SIGTERM or
 * Ctrl-C (which cancel what runs, and wait for it to unwind).
 */
@Command(name = "service", description = {
        "Serve CRIU's RPC (criu_req/criu_resp over a SOCK_SEQPACKET unix socket) to clients such as pycriu, go-criu or runc:"
                + " VERSION, CHECK, FEATURE_CHECK, DUMP, PRE_DUMP, SINGLE_PRE_DUMP, RESTORE. A warm service dumps with no start-up.",
        "Connections are served at once, dumps and restores one at a time; a client that hangs up cancels its request."
                + " Options cryo does not support are refused by name. Runs until SIGTERM or Ctrl-C."})
final class ServiceCommand implements Callable<Integer> {
    @Option(names = "--address", paramLabel = "SOCK", required = true,
            description = "Unix socket path to listen at (made mode 0600; a stale socket of a killed service is replaced).")
    Path address;

    @Option(names = "--no-warm-up", description = "Do not rehearse the first dump and pre-dump on a decoy (see dump --help).")
    boolean noWarmUp;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        ServiceLog log = cryo.verbose() ? ServiceLog.to(err, "cryo service: ") : ServiceLog.SILENT;
        RpcService service;
        try {
            service = RpcService.listen(address, log, !noWarmUp);
        } catch (IOException e) {
            throw new Failure(e.getMessage(), e);
        }
        Thread stop = new Thread(service::close, "cryo-service-stop");
        Runtime.getRuntime().addShutdownHook(stop);
        log.log("listening at " + service.address());
        service.serve();
        return 0;
    }
}
