package dev.cryo.images.remote;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where cryo finds the image proxy (a dump's side) or the image cache (a restore's side): the unix socket it
 * listens at on this host, and its role, for messages ({@code the image proxy at /run/cryo-image-proxy.sock}).
 */
public record ImageDaemon(String role, Path socket) {
    /** The image proxy's socket unless --local-socket says otherwise. */
    public static final Path PROXY_SOCKET = Path.of("/run/cryo-image-proxy.sock");
    /** The image cache's socket unless --local-socket says otherwise. */
    public static final Path CACHE_SOCKET = Path.of("/run/cryo-image-cache.sock");

    public ImageDaemon {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(socket, "socket");
    }

    /** The image proxy at {@code socket}, or at its default socket for null. */
    public static ImageDaemon proxy(Path socket) {
        return new ImageDaemon("image proxy", socket == null ? PROXY_SOCKET : socket);
    }

    /** The image cache at {@code socket}, or at its default socket for null. */
    public static ImageDaemon cache(Path socket) {
        return new ImageDaemon("image cache", socket == null ? CACHE_SOCKET : socket);
    }

    @Override
    public String toString() {
        return "the " + role + " at " + socket;
    }
}
