package dev.cryo.cli.command;

import dev.cryo.cli.Failure;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.syscalls.TcpSocket;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code --page-server --address A --port P} of dump and pre-dump: the pages go to a page server, the rest to -D.
 * With {@code dump --lazy-pages}, {@code --address} and {@code --port} say where the dump serves its lazy pages.
 */
final class PageServerTarget {
    @Option(names = "--page-server", description = "Send the pages to a page server (cryo page-server or criu page-server) at"
            + " --address:--port; the other images go to DIR. With --prev-images-dir, the previous step's pages are on that server.")
    boolean pageServer;

    @Option(names = "--address", paramLabel = "ADDR", description = "The page server's IP address. Default: 127.0.0.1.")
    String address;

    @Option(names = "--port", paramLabel = "PORT", description = "The page server's TCP port.")
    Integer port;

    @Mixin
    TlsOptions tls;

    /** {@code dump --lazy-pages}: where the lazy pages are served (listening on 127.0.0.1 unless told otherwise). */
    dev.cryo.dump.LazyServing lazyServing() {
        if (pageServer) {
            throw new Failure("--lazy-pages serves the lazy pages from the dump itself: --page-server makes no sense with it"
                    + " (--address and --port say where it listens)");
        }
        if (port == null) {
            throw new Failure("--lazy-pages needs --port (where the dump serves the lazy pages; 0 picks a free one)");
        }
        try {
            return new dev.cryo.dump.LazyServing(TcpSocket.address(address == null ? "127.0.0.1" : address), port, tls.tls());
        } catch (IllegalArgumentException e) {
            throw new Failure("--address " + address + " --port " + port + ": " + e.getMessage());
        }
    }

    /** Where the pages go, or null for the images directory. */
    PageServerEndpoint endpoint() {
        if (!pageServer) {
            if (address != null || port != null || tls.tls) {
                throw new Failure("--address, --port and --tls are for --page-server");
            }
            return null;
        }
        if (port == null) {
            throw new Failure("--page-server needs --port (the port the page server listens on)");
        }
        try {
            return new PageServerEndpoint(TcpSocket.address(address == null ? "127.0.0.1" : address), port, tls.tls());
        } catch (IllegalArgumentException e) {
            throw new Failure("--address " + address + " --port " + port + ": " + e.getMessage());
        }
    }
}
