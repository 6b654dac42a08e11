package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Proc;
import dev.cryo.testkit.Target;

/**
 * A dump whose page server goes away fails in one line, and the tree is released as it was: running, untraced,
 * its memory intact, whether or not the dump was to leave it running.
 */
class PageServerDumpTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @TempDir
    Path work;

    /** Releasing is asynchronous only in the kernel's bookkeeping: TracerPid is 0 once every thread is detached. */
    private static void assertReleased(Target target) {
        for (int pid : target.processes()) {
            assertThat(Proc.status(pid, "TracerPid")).as("tracer of pid %d after the failed dump", pid).isEqualTo("0");
            assertThat(Proc.stat(pid).state()).as("state of pid %d after the failed dump", pid).isIn('S', 'R');
        }
        assertThat(target.check()).as("the target's own check of its memory, files and threads").isEqualTo("PASS");
    }

    @ParameterizedTest(name = "leave running: {0}")
    @ValueSource(booleans = {true, false})
    void aPageServerThatDiesMidDumpFailsItAndReleasesTheTree(boolean leaveRunning) throws Exception {
        Path images = Files.createDirectories(work.resolve("images"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "64", "2");
             ServerSocket server = new ServerSocket(0, 1, LOOPBACK)) {
            Thread dying = new Thread(() -> {
                try (Socket c = server.accept()) {
                    c.getInputStream().readNBytes(32);      // OPEN2 of the first process
                    c.getOutputStream().write(0);           // no parent
                    c.getInputStream().readNBytes(1 << 20); // a MiB of its pages, then it dies
                    c.setSoLinger(true, 0);                 // a reset, as the socket of a killed process gives
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            dying.start();
            DumpOptions o = DumpOptions.of(target.pid(), images).withShellJob(true).withLeaveRunning(leaveRunning)
                    .withPageServer(new PageServerEndpoint(LOOPBACK, server.getLocalPort(), null));
            assertThatThrownBy(() -> Dumper.dump(o, new Cancellation())).isInstanceOf(DumpException.class)
                    .hasMessageMatching("cannot dump pid " + target.pid() + ": page server 127\\.0\\.0\\.1:\\d+: the connection is lost: "
                            + "(connection reset by peer \\(ECONNRESET\\)|broken pipe \\(EPIPE\\)) \\(sending pagemap-" + target.pid() + "\\.img\\)");
            dying.join();
            assertReleased(target);
            try (var left = Files.list(images)) {
                assertThat(left.map(p -> p.getFileName().toString()).toList()).as("images left by the failed dump").isEmpty();
            }
        }
    }

    @Test
    void aPageServerThatIsNotThereFailsTheDumpBeforeTheTreeIsTouched() throws Exception {
        Path images = Files.createDirectories(work.resolve("images"));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            port = s.getLocalPort(); // closed again: nobody listens there now
        }
        try (Target target = Target.start("dumpee", work.resolve("t"), "4", "1")) {
            DumpOptions o = DumpOptions.of(target.pid(), images).withShellJob(true)
                    .withPageServer(new PageServerEndpoint(LOOPBACK, port, null));
            assertThatThrownBy(() -> Dumper.dump(o, new Cancellation())).isInstanceOf(DumpException.class)
                    .hasMessage("cannot dump pid " + target.pid() + ": cannot connect to the page server at 127.0.0.1:" + port
                            + ": connection refused (ECONNREFUSED)");
            assertReleased(target);
            assertThat(List.of(images.toFile().list())).isEmpty();
        }
    }
}
