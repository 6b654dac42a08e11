package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

import dev.cryo.cli.Failure;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.migrate.ImageProxy;
import dev.cryo.syscalls.TcpSocket;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code cryo image-proxy}: the source's daemon of images over sockets. Connects to the image cache, then takes
 * the images of {@code cryo dump|pre-dump --remote} on its local socket and passes them on as they come; ends
 * once the migration's last dump is complete in the cache, or on SIGTERM or Ctrl-C.
 */
@Command(name = "image-proxy", description = {
        "Images over sockets, the source's side: connect to the image cache (cryo image-cache) at --address:--port, take each"
                + " step's images (cryo dump|pre-dump --remote) on a local socket and pass them on over that one TCP connection as they"
                + " come, so that no image touches this host's disk.",
        "Ends once the migration's last dump is complete in the cache, or on SIGTERM or Ctrl-C."})
final class ImageProxyCommand implements Callable<Integer> {
    @Option(names = "--address", paramLabel = "ADDR", required = true, description = "The image cache's IP address.")
    String address;

    @Option(names = "--port", paramLabel = "PORT", required = true, description = "The image cache's TCP port.")
    int port;

    @Option(names = "--local-socket", paramLabel = "SOCK",
            description = "Unix socket that dumps connect to (made mode 0600). Default: /run/cryo-image-proxy.sock.")
    Path localSocket;

    @Option(names = "--display-stats", description = "At the end, print what passed through, the CPU time it took and the peak memory.")
    boolean displayStats;

    @Mixin
    TlsOptions tls;

    @ParentCommand
    CryoCommand cryo;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Consumer<String> log = cryo.daemonLog(err, "image-proxy");
        ImageProxy.Options o;
        try {
            o = new ImageProxy.Options(TcpSocket.address(address), port, localSocket, tls.tls());
        } catch (IllegalArgumentException e) {
            throw new Failure("--address: " + e.getMessage());
        }
        ImageProxy proxy;
        try {
            proxy = ImageProxy.connect(o, log);
        } catch (RemoteImageException e) {
            throw new Failure("image proxy: " + e.getMessage(), e);
        }
        try (proxy) {
            Runtime.getRuntime().addShutdownHook(new Thread(proxy::close, "cryo-image-proxy-stop"));
            out.printf(Locale.ROOT, "image proxy connected to %s, local socket %s%n", proxy.cache(), proxy.localSocket());
            out.flush();
            long cpuBefore = DaemonFigures.cpuNanos();
            ImageProxy.Stats s;
            try {
                s = proxy.serve();
            } catch (RemoteImageException e) {
                throw new Failure("image proxy: " + e.getMessage(), e);
            }
            if (displayStats) {
                double mib = s.forwardedBytes() / 1048576.0;
                long cpu = DaemonFigures.cpuNanos() - cpuBefore;
                out.printf(Locale.ROOT, "forwarded:     %d snapshots, %.1f MiB of images to %s (%.1f MiB kept for the next steps)%n",
                        s.snapshots(), mib, s.cache(), s.keptBytes() / 1048576.0);
                out.printf(Locale.ROOT, "cpu time:      %.3f s (%.2f s per GiB forwarded)%n", cpu / 1e9, mib == 0 ? 0.0 : cpu / 1e9 / (mib / 1024));
                out.printf(Locale.ROOT, "peak rss:      %d KiB%n", DaemonFigures.peakRssKib());
                out.flush();
            }
        }
        return 0;
    }
}
