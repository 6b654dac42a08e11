package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

import dev.cryo.cli.Failure;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.migrate.ImageCache;
import dev.cryo.syscalls.TcpSocket;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code cryo image-cache}: the destination's daemon of images over sockets. Holds one migration's images as
 * the image proxy sends them and serves them to {@code cryo restore --remote}; ends once that restore has
 * ended well, or on SIGTERM or Ctrl-C. Says where it listens on its first line of output, once it does.
 */
@Command(name = "image-cache", description = {
        "Images over sockets, the destination's side: take one migration's images (a chain of pre-dumps and a dump) from the"
                + " image proxy over TCP, hold them in memory (each page once: the newest), and serve them on a local socket to"
                + " cryo restore --remote, which waits for an image that has not arrived yet.",
        "Ends once a restore from the migration's last dump has ended well, or on SIGTERM or Ctrl-C."})
final class ImageCacheCommand implements Callable<Integer> {
    @Option(names = "--address", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "IP address to listen on for the image proxy. Default: ${DEFAULT-VALUE}.")
    String address;

    @Option(names = "--port", paramLabel = "PORT", required = true,
            description = "TCP port to listen on for the image proxy; 0 picks a free one (the first line says which).")
    int port;

    @Option(names = "--local-socket", paramLabel = "SOCK",
            description = "Unix socket that restores connect to (made mode 0600). Default: /run/cryo-image-cache.sock.")
    Path localSocket;

    @Option(names = "--display-stats", description = "At the end, print what was received and held, the CPU time it took and the peak memory.")
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
        Consumer<String> log = cryo.daemonLog(err, "image-cache");
        ImageCache.Options o;
        try {
            o = new ImageCache.Options(TcpSocket.address(address), port, localSocket, tls.tls());
        } catch (IllegalArgumentException e) {
            throw new Failure("--address: " + e.getMessage());
        }
        ImageCache cache;
        try {
            cache = ImageCache.listen(o, log);
        } catch (RemoteImageException e) {
            throw new Failure("image cache: " + e.getMessage(), e);
        }
        try (cache) {
            Runtime.getRuntime().addShutdownHook(new Thread(cache::close, "cryo-image-cache-stop"));
            out.printf(Locale.ROOT, "image cache listening on %s, local socket %s%n",
                    TcpSocket.format(new InetSocketAddress(o.address(), cache.port())), cache.localSocket());
            out.flush();
            long cpuBefore = DaemonFigures.cpuNanos();
            ImageCache.Stats s = cache.serve();
            if (displayStats) {
                double mib = s.receivedBytes() / 1048576.0;
                long cpu = DaemonFigures.cpuNanos() - cpuBefore;
                out.printf(Locale.ROOT, "received:      %d snapshots, %d images, %.1f MiB from %s%n", s.snapshots(), s.images(), mib,
                        s.source() == null ? "no image proxy" : s.source());
                out.printf(Locale.ROOT, "held:          %.1f MiB (%.1f MiB released by deduplication)%n", s.heldBytes() / 1048576.0,
                        s.releasedBytes() / 1048576.0);
                out.printf(Locale.ROOT, "cpu time:      %.3f s (%.2f s per GiB received)%n", cpu / 1e9, mib == 0 ? 0.0 : cpu / 1e9 / (mib / 1024));
                out.printf(Locale.ROOT, "peak rss:      %d KiB%n", DaemonFigures.peakRssKib());
                out.printf(Locale.ROOT, "peak in files: %d KiB (pages held in memfds, not in the rss)%n", s.peakInFiles() / 1024);
                out.flush();
            }
        }
        return 0;
    }
}
