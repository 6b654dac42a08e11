package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.NetworkLock;
import dev.cryo.testkit.Target;

/**
 * A dump with --tcp-established and --leave-running: the connection to a peer outside the tree is locked and
 * read in repair mode, then back to work and unlocked before the tree runs on; its tcp-stream image is one
 * crit reads, with the greeting that waited in it.
 */
class TcpDumpTest {
    @TempDir
    Path work;

    @Test
    void aLeaveRunningDumpPutsTheConnectionBackToWorkAndLiftsTheLock() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        try (Target t = Target.start("tcp_external", work.resolve("t"))) {
            Dumper.dump(DumpOptions.of(t.pid(), dir).withLeaveRunning(true).withTcpEstablished(true), new Cancellation());
            assertThat(NetworkLock.exists("cryo-" + t.pid())).as("the lock is lifted").isFalse();
            Path stream;
            try (var s = Files.list(dir)) {
                stream = s.filter(p -> p.getFileName().toString().startsWith("tcp-stream-")).findFirst().orElseThrow();
            }
            String decoded = DumpTest.crit(stream);
            assertThat(decoded).contains("\"inq_len\": 9").contains("\"outq_len\": 0").contains("\"inq\": \"Z3JlZXRpbmcK")
                    .as("the greeting, base64").doesNotStartWith("FAILED");
            assertThat(DumpTest.crit(dir.resolve("files.img"))).contains("\"dst_port\"").doesNotStartWith("FAILED");
            assertThat(t.verdict()).as("tcp_external's own check: the greeting, then echoes from the peer").isEqualTo("PASS");
        }
    }
}
