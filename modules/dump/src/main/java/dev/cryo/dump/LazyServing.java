package dev.cryo.dump;

import java.net.InetAddress;
import java.util.Objects;

import dev.cryo.pagexfer.Tls;

/**
 * Where a dump with {@code --lazy-pages} serves the memory it leaves lazy, and to whom: it listens on
 * {@code address}:{@code port} (0: the kernel picks a port, and the listener hears which) for one lazy-pages
 * daemon, with TLS when {@code tls} is not null.
 */
public record LazyServing(InetAddress address, int port, Tls tls) {
    public LazyServing {
        Objects.requireNonNull(address, "address");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not between 0 and 65535");
        }
    }
}
