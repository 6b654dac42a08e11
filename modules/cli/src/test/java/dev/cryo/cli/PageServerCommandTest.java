package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.pagexfer.PageDestination;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.pagexfer.PageSink;
import dev.cryo.pagexfer.PagemapType;
import dev.cryo.testkit.PageServerProcess;

/** {@code cryo page-server} as a user runs it: where it listens, one session, the background, mistakes. */
class PageServerCommandTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @TempDir
    Path work;

    /** One pagemap of 3 pages, then CLOSE. */
    private void sendOneSession(int port) throws Exception {
        try (PageDestination d = PageDestination.pageServer(new PageServerEndpoint(LOOPBACK, port, null),
                new DirectoryImageStore(Files.createDirectories(work.resolve("client"))), null, null);
             PageSink sink = d.open(PagemapType.PROCESS, 42); Arena a = Arena.ofConfined()) {
            sink.begin(List.of(new PageSink.Run(0x10000000L, 3)));
            sink.write(a.allocate(3 * 4096, 4096).fill((byte) 7));
            sink.commit();
            d.commit();
        }
    }

    @Test
    void portZeroSaysWhichPortAndOneSessionEndsIt() throws Exception {
        Path dir = Files.createDirectories(work.resolve("served"));
        try (PageServerProcess server = PageServerProcess.start(List.of(), dir, "127.0.0.1", 0, "--display-stats")) {
            int port = server.port();
            assertThat(port).isBetween(1, 65535);
            sendOneSession(port);
            assertThat(server.awaitEnd(30)).as("how the page server ended").isNull();
            assertThat(server.output()).containsPattern("received: +1 pagemaps, 3 pages \\(0\\.0 MiB\\) from 127\\.0\\.0\\.1:\\d+");
        }
        assertThat(dir.resolve("pagemap-42.img")).isRegularFile();
        assertThat(Files.size(dir.resolve("pages-65537.img"))).isEqualTo(3 * 4096);
    }

    @Test
    void daemonModeReturnsOnceItListensAndTheServerGoesOn() throws Exception {
        Path dir = Files.createDirectories(work.resolve("served"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process starter = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), "dev.cryo.cli.Main", "page-server", "-d", "-D", dir.toString(), "--port", "0")
                .redirectErrorStream(true).start();
        String first = new BufferedReader(new InputStreamReader(starter.getInputStream())).readLine();
        assertThat(starter.waitFor(60, TimeUnit.SECONDS)).as("the starting process ends once the server listens").isTrue();
        assertThat(starter.exitValue()).isZero();
        Matcher m = Pattern.compile("page server listening on 127\\.0\\.0\\.1:(\\d+) \\(pid (\\d+)\\)").matcher(String.valueOf(first));
        assertThat(m.matches()).as("first line: %s", first).isTrue();
        ProcessHandle daemon = ProcessHandle.of(Long.parseLong(m.group(2))).orElseThrow();
        try {
            assertThat(daemon.isAlive()).isTrue();
            sendOneSession(Integer.parseInt(m.group(1)));
            assertThat(daemon.onExit().get(30, TimeUnit.SECONDS).isAlive()).as("the server ends after its session").isFalse();
        } finally {
            daemon.destroyForcibly();
        }
        assertThat(dir.resolve("pagemap-42.img")).isRegularFile();
    }

    @Test
    void mistakesAreOneLine() throws Exception {
        MainTest.Run noDir = MainTest.cryo("page-server", "-D", work.resolve("nowhere").toString(), "--port", "0");
        assertThat(noDir.exit()).isEqualTo(1);
        assertThat(noDir.errLines()).containsExactly("cryo: page server: cannot receive pages into " + work.resolve("nowhere")
                + ": no such directory");
        MainTest.Run badAddress = MainTest.cryo("page-server", "-D", work.toString(), "--address", "localhost", "--port", "0");
        assertThat(badAddress.errLines()).containsExactly("cryo: --address: \"localhost\" is not an IPv4 or IPv6 address");
        MainTest.Run portWithoutServer = MainTest.cryo("dump", "-t", "1", "-D", work.toString(), "--port", "27001");
        assertThat(portWithoutServer.errLines()).containsExactly("cryo: --address, --port and --tls are for --page-server");
        MainTest.Run serverWithoutPort = MainTest.cryo("pre-dump", "-t", "1", "-D", work.toString(), "--page-server");
        assertThat(serverWithoutPort.errLines()).containsExactly("cryo: --page-server needs --port (the port the page server listens on)");
    }
}
