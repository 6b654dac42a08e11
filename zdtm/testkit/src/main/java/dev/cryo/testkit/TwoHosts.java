package dev.cryo.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Two "hosts" for a test: network namespaces joined by a veth pair, each end with an address of its own
 * (10.199.0.1 and 10.199.0.2/30, which exist only inside the two namespaces) and loopback up. The names
 * carry the pid and a counter, so that concurrent runs do not collide. Closing removes both namespaces,
 * and the veth pair with them.
 *
 * <pre>{@code
 * try (TwoHosts hosts = TwoHosts.create("ps")) {
 *     new ProcessBuilder(hosts.inServer("cryo", "page-server", ...));  // runs inside the first namespace
 *     NetNamespace.enter(hosts.clientNamespace());                     // this thread joins the second
 * }
 * }</pre>
 */
public final class TwoHosts implements AutoCloseable {
    public static final String SERVER_ADDRESS = "10.199.0.1";
    public static final String CLIENT_ADDRESS = "10.199.0.2";
    private static final AtomicInteger NEXT = new AtomicInteger();

    private final String server;
    private final String client;
    private final String veth;

    private TwoHosts(String server, String client, String veth) {
        this.server = server;
        this.client = client;
        this.veth = veth;
    }

    /** Makes the namespaces and the veth pair between them; {@code tag} (a few letters) goes into their names. */
    public static TwoHosts create(String tag) {
        int n = NEXT.incrementAndGet();
        long pid = ProcessHandle.current().pid();
        String base = "cryo-" + tag + "-" + pid + "-" + n;
        String veth = "v" + Long.toString(pid, 36) + "x" + Integer.toString(n, 36); // interface names: 15 bytes at most
        TwoHosts h = new TwoHosts(base + "-s", base + "-c", veth);
        try {
            ip("netns", "add", h.server);
            ip("netns", "add", h.client);
            ip("link", "add", veth + "s", "type", "veth", "peer", "name", veth + "c");
            ip("link", "set", veth + "s", "netns", h.server);
            ip("link", "set", veth + "c", "netns", h.client);
            ip("-n", h.server, "addr", "add", SERVER_ADDRESS + "/30", "dev", veth + "s");
            ip("-n", h.client, "addr", "add", CLIENT_ADDRESS + "/30", "dev", veth + "c");
            for (String ns : List.of(h.server, h.client)) {
                ip("-n", ns, "link", "set", "lo", "up");
            }
            ip("-n", h.server, "link", "set", veth + "s", "up");
            ip("-n", h.client, "link", "set", veth + "c", "up");
            return h;
        } catch (RuntimeException e) {
            h.close();
            try {
                ip("link", "del", veth + "s"); // if it was made but not moved yet
            } catch (RuntimeException gone) {
                // it went with a namespace, or never was
            }
            throw e;
        }
    }

    /** {@code ip netns exec SERVER command...}: a command to start inside the server's namespace. */
    public List<String> inServer(String... command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", server));
        cmd.addAll(List.of(command));
        return cmd;
    }

    /** {@code ip netns exec CLIENT command...}. */
    public List<String> inClient(String... command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", client));
        cmd.addAll(List.of(command));
        return cmd;
    }

    /** The client namespace's file, for {@code NetNamespace.enter}. */
    public String clientNamespace() {
        return "/var/run/netns/" + client;
    }

    public String serverNamespace() {
        return "/var/run/netns/" + server;
    }

    /** Cuts the link: the client's end of the veth pair down (packets either way are lost from then on). */
    public void cutLink() {
        ip("-n", client, "link", "set", veth + "c", "down");
    }

    @Override
    public void close() {
        for (String ns : List.of(server, client)) {
            if (java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/netns", ns))) {
                ip("netns", "del", ns);
            }
        }
    }

    private static void ip(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", cmd), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + String.join(" ", cmd), e);
        }
    }
}
