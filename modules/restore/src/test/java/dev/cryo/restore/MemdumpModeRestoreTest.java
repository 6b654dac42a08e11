package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.MemdumpMode;
import dev.cryo.pagexfer.PageServer;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * A dump --leave-running of 64 MiB, its pages spliced (the task's own pages through a pipe into the pages
 * image or onto the page server's socket), read, or held (read into cryo's memory, written after the
 * release: AUTO's way for a small tree where new memory is cheap, HELD's always), to local images or through a page server; the target then
 * rewrites every page at once and is killed; the restored tree's memory is what it was at the dump. Spliced
 * pages are references to the task's memory until they are out: bytes in the wrong place or order, or bytes
 * that left after the tree ran on and rewrote them, change the checksum.
 */
class MemdumpModeRestoreTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private Path work;

    @BeforeEach
    void scratch() throws Exception {
        work = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"), "cryo-md");
    }

    @AfterEach
    void clean() throws Exception {
        try (var s = Files.walk(work)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @ParameterizedTest(name = "{0} to {1}")
    @CsvSource({"SPLICE, images", "SPLICE, pageserver", "READ, images", "READ, pageserver", "AUTO, images", "HELD, images"})
    void theRestoredMemoryIsTheMemoryAtTheDumpHoweverItsPagesMoved(MemdumpMode mode, String destination) throws Exception {
        Path t = work.resolve("t");
        Path local = Files.createDirectories(work.resolve("local"));
        Path served = Files.createDirectories(work.resolve("served"));
        boolean viaServer = destination.equals("pageserver");
        String before;
        int pid;
        DumpStats dump;
        try (Target target = Target.start("pd_dirty", t, "64", "1000")) {
            pid = target.pid();
            PreDumpRestoreTest.dirty(pid, t, 1);
            before = PreDumpRestoreTest.ask(pid, t);
            DumpOptions o = DumpOptions.of(pid, local).withShellJob(true).withLeaveRunning(true).withMemdumpMode(mode);
            if (viaServer) {
                try (PageServer server = PageServer.listen(new PageServer.Options(served, LOOPBACK, 0, null, null))) {
                    CompletableFuture<PageServer.Session> session = CompletableFuture.supplyAsync(server::serve, r -> new Thread(r).start());
                    dump = Dumper.dump(o.withPageServer(new PageServerEndpoint(LOOPBACK, server.port(), null)), new Cancellation());
                    assertThat(session.get(30, TimeUnit.SECONDS).pages()).as("pages the server received").isEqualTo(dump.pagesWritten());
                }
            } else {
                dump = Dumper.dump(o, new Cancellation());
            }
            // the tree runs on and rewrites every page: none of that may be in the images
            PreDumpRestoreTest.dirty(pid, t, 2);
            assertThat(PreDumpRestoreTest.ask(pid, t)).as("the target's memory after it ran on").isNotEqualTo(before);
        }
        assertThat(dump.pagesWritten()).as("pages written").isGreaterThanOrEqualTo(64 * 256L);
        if (mode == MemdumpMode.HELD) {
            // 64 MiB with --leave-running into a directory: held in cryo's memory, written after the release
            assertThat(dump.memwriteNanos()).as("time writing pages after the release").isPositive();
        }
        Path restoreFrom = local;
        if (viaServer) {
            try (var images = Files.list(local)) {
                for (Path p : images.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                    Files.copy(p, served.resolve(p.getFileName()));
                }
            }
            restoreFrom = served;
        }
        Restorer.restore(RestoreOptions.of(restoreFrom).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(PreDumpRestoreTest.ask(pid, t)).as("generation and checksum of the memory after restore").isEqualTo(before);
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }
}
