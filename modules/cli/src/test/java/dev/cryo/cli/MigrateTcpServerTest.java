package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.syscalls.NetNamespace;
import dev.cryo.testkit.ImageDaemonProcess;
import dev.cryo.testkit.RestoredTree;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TwoHosts;

/**
 * A server with clients, moved live: tcp_server (one epoll loop, a listening TCP socket) runs in a network
 * namespace of its own, as a container's, and two tcp_clients in another namespace, joined to it by a veth pair,
 * keep sending to it (a numbered line every millisecond, each answered). {@code cryo migrate --tcp-established}
 * moves the server from the source host to the destination host (two more namespaces joined by a veth pair, both
 * able to join the server's namespace) while the clients send: no connection is reset or reconnected, and every
 * line is answered once and in order both ways (the server checks what it receives, the clients what comes back).
 * The clients' longest wait for an answer, the stall the migration caused, is printed.
 */
class MigrateTcpServerTest {
    private static final Pattern RESTORED = Pattern.compile("restored pid (\\d+)");

    @TempDir
    Path work;

    @Test
    void twoClientsOutsideTheServersNamespaceCarryOnThroughItsMigrationWithNoLineLostOrRepeated() throws Exception {
        try (TwoHosts hosts = TwoHosts.create("mt");   // the source (client end) and the destination (server end)
             TreeNet net = TreeNet.create();
             Target server = Target.startIn(net.file(net.source), "tcp_server", work.resolve("server"), Target.Stdio.OUTPUT_FILE,
                     TreeNet.ADDRESS)) {
            int pid = server.pid();
            String port = Files.readString(server.dir().resolve("port")).strip();
            try (Target a = Target.startIn(net.file(net.clients), "tcp_client", work.resolve("a"), Target.Stdio.OUTPUT_FILE,
                    port, TreeNet.ADDRESS);
                 Target b = Target.startIn(net.file(net.clients), "tcp_client", work.resolve("b"), Target.Stdio.OUTPUT_FILE,
                    port, TreeNet.ADDRESS);
                 ImageDaemonProcess destination = ImageDaemonProcess.migrateServer(hosts.inServer(), TwoHosts.SERVER_ADDRESS, 27300,
                         Files.createDirectories(work.resolve("dst")), work.resolve("migrate-server.out"), "--pidns", "--join-ns",
                         "net:" + net.file(net.destination))) {
                destination.ready();
                TcpServerTest.awaitAnswers(a, 100);
                TcpServerTest.awaitAnswers(b, 100);

                MainTest.Run migrate = inNamespace(hosts.clientNamespace(), "migrate", "-t", Integer.toString(pid),
                        "--to", TwoHosts.SERVER_ADDRESS + ":27300", "--tcp-established", "--pre-copy", "1", "--display-stats");
                // the tree's address moves with it, as a container's: the clients' route now leads to the destination
                net.moveAddress();
                String ended = destination.awaitEnd(30);
                Matcher m = RESTORED.matcher(destination.output());
                int restored = m.find() ? Integer.parseInt(m.group(1)) : 0;
                try {
                    assertThat(migrate.exit()).as(migrate.err()).isZero();
                    assertThat(ended).as("the migration server's end").isNull();
                    assertThat(restored).as("the migration server names the restored pid: " + destination.output()).isPositive();
                    assertThat(server.awaitExit(30)).as("the source's server is gone").isTrue();
                    long aBefore = TcpServerTest.answers(a), bBefore = TcpServerTest.answers(b);
                    TcpServerTest.awaitAnswers(a, aBefore + 200);
                    TcpServerTest.awaitAnswers(b, bBefore + 200);
                    String va = a.verdict(), vb = b.verdict();
                    System.out.println("cryo migrate --tcp-established: tcp_client a: " + va + "; b: " + vb + "\n" + migrate.out().strip());
                    assertThat(va).as("client a").startsWith("PASS");
                    assertThat(vb).as("client b").startsWith("PASS");
                    Path result = server.dir().resolve("result");
                    new ProcessBuilder("kill", "-TERM", Integer.toString(restored)).start().waitFor();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (!Files.exists(result) && System.nanoTime() < deadline) {
                        Thread.sleep(10);
                    }
                    assertThat(result).as("the migrated server's verdict").exists();
                    assertThat(Files.readString(result).strip()).as("the migrated server").startsWith("PASS clients=2 lines=");
                } finally {
                    RestoredTree.kill(restored);
                }
            }
        }
    }

    /**
     * The tree's network, as a container's: its namespace on the source and its namespace on the destination, each
     * with the tree's address (10.198.0.1) on a veth to the clients' namespace, whose route to that address leads to
     * the source until {@link #moveAddress} (what an orchestrator does once the container has moved). Both tree
     * namespaces hold the same address and port space, so the copy restored on the destination binds the tree's
     * ports while the frozen original still holds them on the source. Closing removes the namespaces (and veths).
     */
    private record TreeNet(String source, String destination, String clients, String toSource, String toDestination)
            implements AutoCloseable {
        static final String ADDRESS = "10.198.0.1";
        static final String CLIENTS_ADDRESS = "10.198.0.2";

        static TreeNet create() {
            String base = "cryo-mtn-" + ProcessHandle.current().pid();
            String veth = "w" + Long.toString(ProcessHandle.current().pid(), 36);
            TreeNet n = new TreeNet(base + "-s", base + "-d", base + "-c", veth + "s", veth + "d");
            try {
                for (String ns : List.of(n.source, n.destination, n.clients)) {
                    ip("netns", "add", ns);
                    ip("-n", ns, "link", "set", "lo", "up");
                }
                for (String[] end : List.of(new String[] {n.source, n.toSource}, new String[] {n.destination, n.toDestination})) {
                    ip("link", "add", end[1] + "t", "type", "veth", "peer", "name", end[1] + "c");
                    ip("link", "set", end[1] + "t", "netns", end[0]);
                    ip("link", "set", end[1] + "c", "netns", n.clients);
                    ip("-n", end[0], "addr", "add", ADDRESS + "/32", "dev", end[1] + "t");
                    ip("-n", end[0], "link", "set", end[1] + "t", "up");
                    ip("-n", end[0], "route", "add", CLIENTS_ADDRESS + "/32", "dev", end[1] + "t");
                    ip("-n", n.clients, "addr", "add", CLIENTS_ADDRESS + "/32", "dev", end[1] + "c");
                    ip("-n", n.clients, "link", "set", end[1] + "c", "up");
                }
                ip("-n", n.clients, "route", "add", ADDRESS + "/32", "dev", n.toSource + "c", "src", CLIENTS_ADDRESS);
                return n;
            } catch (RuntimeException e) {
                n.close();
                throw e;
            }
        }

        String file(String ns) {
            return "/var/run/netns/" + ns;
        }

        void moveAddress() {
            ip("-n", clients, "route", "replace", ADDRESS + "/32", "dev", toDestination + "c", "src", CLIENTS_ADDRESS);
        }

        @Override
        public void close() {
            for (String ns : List.of(source, destination, clients)) {
                if (Files.exists(Path.of(file(ns)))) {
                    ip("netns", "del", ns);
                }
            }
        }

        private static void ip(String... args) {
            List<String> cmd = new java.util.ArrayList<>(List.of("ip"));
            cmd.addAll(List.of(args));
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes()).strip();
                if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** {@code cryo ARGS...} on a thread that first joins network namespace file {@code netns} (and whose threads inherit it). */
    private static MainTest.Run inNamespace(String netns, String... args) throws InterruptedException {
        MainTest.Run[] run = new MainTest.Run[1];
        Thread t = new Thread(() -> {
            NetNamespace.enter(netns);
            run[0] = MainTest.cryo(args);
        }, "cryo-in-" + Path.of(netns).getFileName());
        t.start();
        t.join();
        return run[0];
    }
}
