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
import org.junit.jupiter.params.provider.EnumSource;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.pagexfer.PageServer;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * A pre-dump chain and its final dump with every page sent to a page server (one per step, each linked to the
 * step before on the server's side), restored from the server's last directory with the dump's other images
 * put beside its pages: the memory is the target's at the final dump, and pages unchanged between steps were
 * left in the server's parents, not sent again.
 */
class PageServerRestoreTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private Path work;

    @BeforeEach
    void scratch() throws Exception {
        work = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"), "cryo-ps");
    }

    @AfterEach
    void clean() throws Exception {
        try (var s = Files.walk(work)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** Runs {@code step} with its pages going to a page server on {@code server/NAME}, linked to {@code server/PREV}. */
    private DumpStats throughServer(String name, String prev, int pid, PreDumpMode mode, boolean preDump) throws Exception {
        Path served = Files.createDirectories(work.resolve("server").resolve(name));
        Path local = Files.createDirectories(work.resolve("local").resolve(name));
        try (PageServer server = PageServer.listen(new PageServer.Options(served, LOOPBACK, 0,
                prev == null ? null : Path.of("..", prev), null))) {
            CompletableFuture<PageServer.Session> session = CompletableFuture.supplyAsync(server::serve, r -> new Thread(r).start());
            DumpOptions o = PreDumpRestoreTest.step(pid, local, mode, prev)
                    .withPageServer(new PageServerEndpoint(LOOPBACK, server.port(), null));
            DumpStats s = preDump ? Dumper.preDump(o, new Cancellation()) : Dumper.dump(o, new Cancellation());
            assertThat(session.get(30, TimeUnit.SECONDS).pages()).as("pages the server received or was told are in its parent")
                    .isGreaterThanOrEqualTo(s.pagesWritten());
            return s;
        }
    }

    @ParameterizedTest
    @EnumSource(PreDumpMode.class)
    void aChainThroughPageServersRestoresTheMemoryOfTheFinalDump(PreDumpMode mode) throws Exception {
        long pages = 256 * 256L;
        Path t = work.resolve("t");
        String before;
        int pid;
        DumpStats pre2;
        DumpStats dump;
        try (Target target = Target.start("pd_dirty", t, "256", "10")) {
            pid = target.pid();
            throughServer("pre1", null, pid, mode, true);
            PreDumpRestoreTest.dirty(pid, t, 1);
            pre2 = throughServer("pre2", "pre1", pid, mode, true);
            PreDumpRestoreTest.dirty(pid, t, 2);
            before = PreDumpRestoreTest.ask(pid, t);
            dump = throughServer("dump", "pre2", pid, mode, false);
            assertThat(target.awaitExit(30)).as("the dump killed the target").isTrue();
        }
        assertThat(pre2.pagesInParent()).as("pages pre2 left in the server's pre1").isGreaterThanOrEqualTo(pages * 9 / 10);
        assertThat(dump.pagesWritten()).as("pages the dump sent").isLessThanOrEqualTo(pages * 2 / 100);
        Path restoreFrom = work.resolve("server/dump");
        assertThat(Files.list(work.resolve("local/dump")).map(p -> p.getFileName().toString()))
                .as("the dump's own images hold no pages").noneMatch(n -> n.startsWith("pages-") || n.startsWith("pagemap-"));
        // what a user does on the destination: the dump's other images beside the pages the server received
        try (var images = Files.list(work.resolve("local/dump"))) {
            for (Path p : images.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                Files.copy(p, restoreFrom.resolve(p.getFileName()));
            }
        }
        RestoreStats r = Restorer.restore(RestoreOptions.of(restoreFrom).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(r.rootPid()).isEqualTo(pid);
            assertThat(r.pagesRestored()).isGreaterThanOrEqualTo(pages);
            assertThat(PreDumpRestoreTest.ask(pid, t)).as("generation and checksum of the memory after restore").isEqualTo(before);
        } finally {
            RestoreTest.killAndAwait(pid);
        }
    }
}
