package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.testkit.ImageDaemonProcess;
import dev.cryo.testkit.RestoredTree;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TestPki;

/**
 * {@code cryo migrate --tls} to a {@code cryo migrate-server --tls}: with pre-copy and post-copy together every
 * connection of a migration is made (control, image proxy to image cache, lazy-pages daemon to the source), each
 * one over TLS. The tree arrives whole; a source whose certificate another CA signed is refused, and its tree
 * runs on where it was.
 */
class MigrateTlsTest {
    private static final Pattern RESTORED = Pattern.compile("restored pid (\\d+)");

    @TempDir
    static Path pki;
    static List<String> destination;
    static List<String> source;
    static List<String> stranger;

    @TempDir
    Path work;

    @BeforeAll
    static void certificates() throws Exception {
        TestPki ca = TestPki.ca(pki, "cryo");
        // on one machine each side is a server to the other at 127.0.0.1 (the source serves the lazy pages)
        destination = options(ca.issue("destination", "127.0.0.1"));
        source = options(ca.issue("source", "127.0.0.1"));
        TestPki.Issued foreign = TestPki.ca(pki, "other").issue("source", "127.0.0.1");
        stranger = options(new TestPki.Issued(ca.cert(), foreign.cert(), foreign.key()));
    }

    private static List<String> options(TestPki.Issued i) {
        return List.of("--tls", "--tls-cacert", i.caCert().toString(), "--tls-cert", i.cert().toString(), "--tls-key", i.key().toString());
    }

    private ImageDaemonProcess server() {
        List<String> options = new ArrayList<>(List.of("--pidns"));
        options.addAll(destination);
        ImageDaemonProcess s = ImageDaemonProcess.migrateServer(List.of(), "127.0.0.1", 0, work, work.resolve("server.out"),
                options.toArray(String[]::new));
        s.ready();
        return s;
    }

    private static int port(ImageDaemonProcess s) {
        String line = s.ready();
        return Integer.parseInt(line.substring(line.lastIndexOf(':') + 1).strip());
    }

    private static MainTest.Run migrate(Target target, ImageDaemonProcess s, List<String> tls, String... options) {
        List<String> args = new ArrayList<>(List.of("migrate", "-t", Integer.toString(target.pid()), "--to", "127.0.0.1:" + port(s), "-j"));
        args.addAll(List.of(options));
        args.addAll(tls);
        return MainTest.cryo(args.toArray(String[]::new));
    }

    @Test
    void aTreeMigratedOverTlsWithPreCopyAndPostCopyArrivesWhole() throws Exception {
        try (ImageDaemonProcess s = server(); Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            MainTest.Run migrate = migrate(target, s, source, "--pre-copy", "1", "--post-copy");
            assertThat(migrate.exit()).as(migrate.out() + migrate.err()).isZero();
            String ended = s.awaitEnd(30);
            Matcher m = RESTORED.matcher(s.output());
            assertThat(m.find()).as("the server names the restored pid: " + s.output()).isTrue();
            int restored = Integer.parseInt(m.group(1));
            try {
                assertThat(ended).as("the server's end").isNull();
                assertThat(target.awaitExit(30)).as("the source's tree is gone").isTrue();
                assertThat(RestoredTree.check(restored, target.dir())).as("the restored tree's own check").isEqualTo("PASS");
            } finally {
                RestoredTree.kill(restored);
            }
        }
    }

    @Test
    void aSourceWhoseCertificateAnotherCaSignedIsRefusedAndItsTreeRunsOn() throws Exception {
        try (ImageDaemonProcess s = server(); Target target = Target.start("dumpee", work.resolve("t"), "16", "1")) {
            MainTest.Run migrate = migrate(target, s, stranger, "--pre-copy", "0");
            assertThat(migrate.exit()).as(migrate.out() + migrate.err()).isEqualTo(1);
            assertThat(migrate.errLines()).singleElement().asString()
                    .startsWith("cryo: cannot migrate pid " + target.pid() + ": ").contains("TLS")
                    .endsWith("; pid " + target.pid() + " runs on here");
            assertThat(MigrateFaultTestSupport.tracer(target.pid())).as("nobody traces the tree").isZero();
            assertThat(target.check()).as("the tree's own check").isEqualTo("PASS");
            assertThat(s.output()).as("the server restored nothing").doesNotContain("restored pid");
        }
    }
}
