package dev.cryo.cli.command;

import java.nio.file.Path;

import dev.cryo.cli.Failure;
import dev.cryo.images.remote.ImageDaemon;
import picocli.CommandLine.Option;

/** {@code --remote [--local-socket SOCK]} of dump, pre-dump and restore: every image through the image proxy, or from the image cache. */
final class RemoteImages {
    @Option(names = "--remote", description = "Images over sockets: a dump or pre-dump writes every image through the image proxy"
            + " (cryo image-proxy), a restore reads every image from the image cache (cryo image-cache), waiting for one that has"
            + " not arrived yet. -D DIR then names the snapshot (nothing is made at that path); --prev-images-dir names the previous"
            + " one among them.")
    boolean remote;

    @Option(names = "--local-socket", paramLabel = "SOCK", description = "The image proxy's (dump) or image cache's (restore) unix socket."
            + " Default: /run/cryo-image-proxy.sock, /run/cryo-image-cache.sock.")
    Path localSocket;

    /** The image proxy to write through, or null without --remote; not with a page server. */
    ImageDaemon proxy(PageServerTarget pageServer) {
        if (remote && pageServer.pageServer) {
            throw new Failure("--remote sends every image through the image proxy, --page-server the pages to a page server: use one");
        }
        return remote ? ImageDaemon.proxy(localSocket) : none();
    }

    /** The image cache to read from, or null without --remote. */
    ImageDaemon cache() {
        return remote ? ImageDaemon.cache(localSocket) : none();
    }

    private ImageDaemon none() {
        if (localSocket != null) {
            throw new Failure("--local-socket is for --remote");
        }
        return null;
    }
}
