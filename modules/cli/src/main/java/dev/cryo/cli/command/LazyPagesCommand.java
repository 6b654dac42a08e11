package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.cryo.cli.Failure;
import dev.cryo.cli.SignalGuard;
import dev.cryo.lazypages.LazyPages;
import dev.cryo.lazypages.LazyPagesException;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.pagexfer.PageServerException;
import dev.cryo.syscalls.TcpSocket;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code cryo lazy-pages}: the daemon that fills a lazily restored tree's memory (for {@code cryo restore
 * --lazy-pages}), from the images in DIR, and with {@code --page-server}, from a {@code cryo dump --lazy-pages}
 * across the network. Says where it listens on its first line, once it does; exits once the tree's memory is
 * complete or the tree has exited.
 */
@Command(name = "lazy-pages", description = "Serve the page faults of a tree restored with --lazy-pages: from the images in DIR,"
        + " and with --page-server from the dump (dump --lazy-pages) that kept its memory; exits once every page is in place.")
final class LazyPagesCommand implements Callable<Integer> {
    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", required = true, description = "The dump's images (what the restore reads).")
    Path imagesDir;

    @Option(names = "--lazy-addr", paramLabel = "SOCK", description = "The unix socket the restore connects to. Default: DIR/lazy-pages.socket.")
    Path lazyAddr;

    @Option(names = "--page-server", description = "Fetch the pages the dump kept (dump --lazy-pages) from it, at --address:--port.")
    boolean pageServer;

    @Option(names = "--address", paramLabel = "ADDR", description = "Where the dump serves its lazy pages. Default: 127.0.0.1.")
    String address;

    @Option(names = "--port", paramLabel = "PORT", description = "The port the dump serves its lazy pages on.")
    Integer port;

    @Option(names = "--source-timeout", paramLabel = "SECONDS", defaultValue = "5",
            description = "How long the dump may send nothing while a page is due before the restored tree is given up (killed). Default: ${DEFAULT-VALUE}.")
    int timeoutSeconds;

    @Option(names = "--prefetch-delay", paramLabel = "MS", defaultValue = "0",
            description = "Answer faults alone for MS milliseconds after the tree runs before pushing the rest in the background"
                    + " (0, the default: push from the start, even before the tree runs). The zdtm suite uses it to have the tests'"
                    + " memory come by fault.")
    long prefetchDelayMillis;

    @Option(names = "--display-stats", description = "At the end, print the faults answered, their latency, the pages placed and the time it took.")
    boolean displayStats;

    @Mixin
    TlsOptions tls;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean verbose = ((CryoCommand) spec.parent().userObject()).verbose();
        if (timeoutSeconds < 1) {
            throw new Failure("--source-timeout " + timeoutSeconds + ": at least 1 second");
        }
        if (prefetchDelayMillis < 0) {
            throw new Failure("--prefetch-delay " + prefetchDelayMillis + ": not a number of milliseconds");
        }
        LazyPages.Options o = new LazyPages.Options(imagesDir, lazyAddr, source(), Duration.ofSeconds(timeoutSeconds),
                verbose ? m -> { err.println("lazy-pages: " + m); err.flush(); } : null, Duration.ofMillis(prefetchDelayMillis));
        LazyPages.Stats s;
        try (LazyPages daemon = LazyPages.listen(o)) {
            out.println("lazy-pages listening on " + daemon.socket());
            out.flush();
            s = SignalGuard.run(err, "the lazy-pages daemon", cancel -> daemon.serve(cancel::check));
        } catch (LazyPagesException | PageServerException e) {
            throw new Failure("lazy-pages: " + e.getMessage(), e);
        }
        if (displayStats) {
            out.printf(Locale.ROOT, "processes:     %d (%d forked since, %d exited before their memory was complete)%n",
                    s.processes(), s.forked(), s.exited());
            out.printf(Locale.ROOT, "faults:        %d (%d with a zero page), latency p50 %.1f us, p99 %.1f us%n",
                    s.faults(), s.zeroPages(), s.faultP50Nanos() / 1e3, s.faultP99Nanos() / 1e3);
            out.printf(Locale.ROOT, "pages placed:  %d (%d from the dump, %.1f MiB)%n", s.pagesCopied(), s.remotePages(),
                    s.remoteBytes() / 1048576.0);
            out.printf(Locale.ROOT, "complete in:   %.2f ms%n", s.completeNanos() / 1e6);
            out.flush();
        }
        return 0;
    }

    private PageServerEndpoint source() {
        if (!pageServer) {
            if (address != null || port != null || tls.tls()  != null) {
                throw new Failure("--address, --port and --tls are for --page-server");
            }
            return null;
        }
        if (port == null) {
            throw new Failure("--page-server needs --port (where the dump serves its lazy pages)");
        }
        try {
            return new PageServerEndpoint(TcpSocket.address(address == null ? "127.0.0.1" : address), port, tls.tls());
        } catch (IllegalArgumentException e) {
            throw new Failure("--address " + address + " --port " + port + ": " + e.getMessage());
        }
    }
}
