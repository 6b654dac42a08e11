package dev.cryo.pagexfer;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * How a dump reaches its page server.
 *
 * @param address IP address the server listens on
 * @param port    its TCP port
 * @param tls     TLS credentials, or null for a plain connection
 * @param cork    keep the sending socket corked ({@code TCP_CORK}) and push each command that waits for an answer
 *                at once ({@code TCP_NODELAY}), as CRIU does since 2015; false leaves the socket as the kernel makes
 *                it (Nagle's algorithm on): only for measuring what corking is worth
 * @param stall   how long the server may take no data, or give no answer, before the dump gives up on it
 */
public record PageServerEndpoint(InetAddress address, int port, Tls tls, boolean cork, Duration stall) {
    public static final Duration DEFAULT_STALL = Duration.ofSeconds(60);

    public PageServerEndpoint {
        Objects.requireNonNull(address, "address");
        if (port <= 0 || port > 65535) {
            throw new IllegalArgumentException("page server port " + port + " is not between 1 and 65535");
        }
        stall = stall == null ? DEFAULT_STALL : stall;
    }

    public PageServerEndpoint(InetAddress address, int port, Tls tls) {
        this(address, port, tls, true, DEFAULT_STALL);
    }

    public PageServerEndpoint withCork(boolean on) {
        return new PageServerEndpoint(address, port, tls, on, stall);
    }

    public PageServerEndpoint withStall(Duration d) {
        return new PageServerEndpoint(address, port, tls, cork, d);
    }

    @Override
    public String toString() {
        String host = address.getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
