package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.NetworkLock;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/**
 * A server with clients outside the tree, checkpointed with {@code cryo dump --tcp-established} (which kills
 * it) and brought back with {@code cryo restore --tcp-established}: the clients, which never stop sending and
 * never reconnect, carry on over the same connections, every line answered, in order, both ways (tcp_server
 * and tcp_client check that themselves). The server waits in epoll_wait, its listener and clients watched by
 * one epoll instance.
 */
class TcpServerTest {
    @TempDir
    Path work;

    @Test
    void twoClientsOutsideTheTreeCarryOnWithTheRestoredServerWithNoLineLost() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target server = Target.start("tcp_server", work.resolve("server"))) {
            int pid = server.pid();
            String port = Files.readString(server.dir().resolve("port")).strip();
            try (Target a = Target.start("tcp_client", work.resolve("a"), port);
                 Target b = Target.start("tcp_client", work.resolve("b"), port)) {
                awaitAnswers(a, 100);
                awaitAnswers(b, 100);

                MainTest.Run dump = MainTest.cryo("dump", "-t", Integer.toString(pid), "-D", images.toString(), "--tcp-established");
                assertThat(dump.exit()).as(dump.err()).isZero();
                assertThat(server.awaitExit(30)).as("the dump killed the server").isTrue();
                assertThat(NetworkLock.exists("cryo-" + pid)).as("the connections are locked until the restore").isTrue();
                long aBefore = answers(a), bBefore = answers(b);

                MainTest.Run restore = MainTest.cryo("restore", "-D", images.toString(), "-d", "--tcp-established");
                assertThat(restore.exit()).as(restore.err()).isZero();
                assertThat(restore.out()).startsWith("restored pid " + pid + ":");
                try {
                    assertThat(NetworkLock.exists("cryo-" + pid)).as("the restore lifted the lock").isFalse();
                    awaitAnswers(a, aBefore + 200);
                    awaitAnswers(b, bBefore + 200);
                    String va = a.verdict(), vb = b.verdict();
                    System.out.println("tcp_client a: " + va + "; b: " + vb); // longest-wait-ms: the pause around dump and restore
                    assertThat(va).as("client a").startsWith("PASS");
                    assertThat(vb).as("client b").startsWith("PASS");
                    assertThat(server.verdict()).as("the restored server").startsWith("PASS clients=2 lines=");
                } finally {
                    if (Files.exists(Path.of("/proc/" + pid))) {
                        try {
                            Signals.kill(pid, Kernel.SIGKILL);
                        } catch (dev.cryo.syscalls.ErrnoException gone) {
                            // ended meanwhile
                        }
                    }
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (Files.exists(Path.of("/proc/" + pid)) && System.nanoTime() < deadline) {
                        Thread.sleep(10);
                    }
                }
            }
        }
    }

    /**
     * Why the lock: the same run with {@code --network-lock skip}. Between the dump, which kills the server (its
     * sockets close silently in repair mode), and the restore, the clients' lines reach no socket, and the
     * kernel answers them with a reset: the clients' connections die. Repair mode on the dumped end is not enough
     * when the other end is a process outside the tree that keeps sending (tcp_client does, for seconds).
     */
    @Test
    void withoutTheNetworkLockAClientThatSendsMeanwhileLosesItsConnection() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target server = Target.start("tcp_server", work.resolve("server"))) {
            int pid = server.pid();
            String port = Files.readString(server.dir().resolve("port")).strip();
            try (Target a = Target.start("tcp_client", work.resolve("a"), port);
                 Target b = Target.start("tcp_client", work.resolve("b"), port)) {
                awaitAnswers(a, 100);
                awaitAnswers(b, 100);
                MainTest.Run dump = MainTest.cryo("dump", "-t", Integer.toString(pid), "-D", images.toString(),
                        "--tcp-established", "--network-lock", "skip");
                assertThat(dump.exit()).as(dump.err()).isZero();
                assertThat(server.awaitExit(30)).isTrue();
                assertThat(NetworkLock.exists("cryo-" + pid)).isFalse();
                // the clients notice before any restore
                awaitResult(a);
                awaitResult(b);
                assertThat(a.dir().resolve("result")).as("client a noticed").exists();
                assertThat(b.dir().resolve("result")).as("client b noticed").exists();
                String va = Files.readString(a.dir().resolve("result")), vb = Files.readString(b.dir().resolve("result"));
                System.out.println("without the lock: tcp_client a: " + va.strip() + "; b: " + vb.strip());
                assertThat(va).startsWith("FAIL: the connection ended").contains("Connection reset by peer");
                assertThat(vb).startsWith("FAIL: the connection ended").contains("Connection reset by peer");
            }
        }
    }

    private static void awaitResult(Target client) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(client.dir().resolve("result")) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    static long answers(Target client) throws IOException {
        Path count = client.dir().resolve("count");
        return Files.exists(count) ? Long.parseLong(Files.readString(count).strip()) : 0;
    }

    /** Waits (30 s at most) until the client has had {@code n} answers; fails with its verdict if it ended. */
    static void awaitAnswers(Target client, long n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (answers(client) < n) {
            Path result = client.dir().resolve("result");
            assertThat(result).as("client %s ended: %s", client.dir(), Files.exists(result) ? Files.readString(result) : "")
                    .doesNotExist();
            assertThat(System.nanoTime()).as("client %s has %d answers, waits for %d", client.dir(), answers(client), n)
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
