package dev.cryo.lazypages;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.testkit.Target;

/**
 * A tree restored lazily gets its memory back whole: by fault alone, by the background alone, or from a dump
 * that kept it (post-copy). pd_dirty's checksum of all its memory, asked before the dump and of the restored
 * process, is the measure.
 */
class LazyPagesTest {
    private static final int SIGUSR1 = 10;

    @TempDir
    Path work;

    /** pd_dirty with {@code mib} MiB, its checksum, and the images of a plain dump of it (which ended it). */
    private record Dumped(Path dir, Path images, String checksum) {}

    private Dumped dumpPdDirty(int mib) throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target t = Target.start("pd_dirty", dir, Target.Stdio.DEV_NULL, Integer.toString(mib), "10")) {
            String sum = LazyTrees.ask(t.pid(), dir, "check", SIGUSR1);
            Dumper.dump(DumpOptions.of(t.pid(), images).withWarmUp(false).withShellJob(true), new Cancellation());
            assertThat(t.awaitExit(30)).as("the dump ended the tree").isTrue();
            return new Dumped(dir, images, sum);
        }
    }

    @Test
    void everyPageComesByFaultWhileTheBackgroundWaits() throws Exception {
        Dumped d = dumpPdDirty(64);
        Path socket = work.resolve("lp.sock");
        List<Integer> restored = new ArrayList<>();
        try (LazyTrees.Daemon daemon = LazyTrees.Daemon.start(d.images(), socket, null, null, Duration.ofMinutes(10))) {
            int root = LazyTrees.restoreLazily(d.images(), socket);
            restored.addAll(LazyTrees.tree(root));
            // the checksum reads every page: each one faults, and the daemon answers it from the images
            assertThat(LazyTrees.ask(root, d.dir(), "check", SIGUSR1)).isEqualTo(d.checksum());
            LazyTrees.kill(restored);
            LazyPages.Stats s = daemon.await(30);
            assertThat(s.faults()).as("faults answered").isGreaterThanOrEqualTo(64L * 256);
        } finally {
            LazyTrees.kill(restored);
        }
    }

    @Test
    void theBackgroundBringsEverythingWhileTheTreeSleeps() throws Exception {
        Dumped d = dumpPdDirty(64);
        Path socket = work.resolve("lp.sock");
        List<Integer> restored = new ArrayList<>();
        try (LazyTrees.Daemon daemon = LazyTrees.Daemon.start(d.images(), socket, null, null, Duration.ZERO)) {
            int root = LazyTrees.restoreLazily(d.images(), socket);
            restored.addAll(LazyTrees.tree(root));
            LazyPages.Stats s = daemon.await(60); // it ends once every page is in place, the tree still asleep
            assertThat(LazyTrees.alive(root)).isTrue();
            assertThat(s.pagesCopied()).as("pages placed").isGreaterThanOrEqualTo(64L * 256);
            assertThat(LazyTrees.ask(root, d.dir(), "check", SIGUSR1)).isEqualTo(d.checksum());
        } finally {
            LazyTrees.kill(restored);
        }
    }

    /** Post-copy: the dump keeps the memory in its frozen tree and serves it; the restored copy has it all, and the original is gone. */
    @Test
    void postCopyBringsTheMemoryTheDumpKept() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        List<Integer> restored = new ArrayList<>();
        try (Target t = Target.start("pd_dirty", dir, Target.Stdio.DEV_NULL, "64", "10")) {
            String sum = LazyTrees.ask(t.pid(), dir, "check", SIGUSR1);
            LazyTrees.LazyDump dump = LazyTrees.LazyDump.start(t.pid(), images);
            PageServerEndpoint source = new PageServerEndpoint(InetAddress.getLoopbackAddress(), dump.port(), null);
            Path served = LazyTrees.copyImages(images, work.resolve("served"));
            Path socket = work.resolve("lp.sock");
            try (LazyTrees.Daemon daemon = LazyTrees.Daemon.start(served, socket, source, null, Duration.ofMinutes(10))) {
                int root = LazyTrees.restoreLazily(served, socket);
                restored.addAll(LazyTrees.tree(root));
                assertThat(LazyTrees.ask(root, dir, "check", SIGUSR1)).isEqualTo(sum);
                LazyTrees.kill(restored);
                LazyPages.Stats s = daemon.await(60);
                DumpStats ds = dump.await(60);
                assertThat(s.remoteBytes()).as("bytes fetched from the dump").isEqualTo(ds.lazyBytesServed()).isGreaterThan(0);
                assertThat(t.awaitExit(30)).as("the dump killed the original once its memory was taken").isTrue();
            }
        } finally {
            LazyTrees.kill(restored);
        }
    }

    /**
     * Post-copy after pre-copy: two pre-dumps, pages written before each step, a lazy dump on top. The pre-dumps'
     * pages come from the chain at once; only what was written after the last one goes lazily (pd_dirty's third
     * generation: every 100th page), give or take the few pages the process itself wrote meanwhile.
     */
    @Test
    void postCopyAfterPreCopySendsOnlyWhatWasWrittenSinceTheLastPreDump() throws Exception {
        Path dir = work.resolve("t");
        Path pre1 = Files.createDirectories(work.resolve("pre1"));
        Path pre2 = Files.createDirectories(work.resolve("pre2"));
        Path dump = Files.createDirectories(work.resolve("dump"));
        List<Integer> restored = new ArrayList<>();
        long pages = 64L * 256;
        try (Target t = Target.start("pd_dirty", dir, Target.Stdio.DEV_NULL, "64", "10")) {
            for (int gen = 1; gen <= 2; gen++) {
                dirty(t, gen);
                Dumper.preDump(DumpOptions.of(t.pid(), gen == 1 ? pre1 : pre2).withWarmUp(false).withShellJob(true)
                        .withPreDumpMode(dev.cryo.dump.PreDumpMode.READ)
                        .withPrevImagesDir(gen == 1 ? null : Path.of("../pre1")), new Cancellation());
            }
            dirty(t, 3);
            String sum = LazyTrees.ask(t.pid(), dir, "check", SIGUSR1);
            LazyTrees.LazyDump lazyDump = LazyTrees.LazyDump.start(t.pid(), dump, Path.of("../pre2"));
            PageServerEndpoint source = new PageServerEndpoint(InetAddress.getLoopbackAddress(), lazyDump.port(), null);
            Path socket = work.resolve("lp.sock");
            try (LazyTrees.Daemon daemon = LazyTrees.Daemon.start(dump, socket, source, null, Duration.ZERO)) {
                int root = LazyTrees.restoreLazily(dump, socket);
                restored.addAll(LazyTrees.tree(root));
                assertThat(LazyTrees.ask(root, dir, "check", SIGUSR1)).isEqualTo(sum);
                LazyPages.Stats s = daemon.await(60);
                long written = (pages - 3 + 99) / 100 * 4096; // generation 3: pages 3, 103, 203, ...
                assertThat(s.remoteBytes()).as("bytes sent lazily, %d written after the last pre-dump", written)
                        .isBetween(written, written + (256 << 10));
                lazyDump.await(60);
            }
        } finally {
            LazyTrees.kill(restored);
        }
    }

    /** pd_dirty's generation {@code gen} of writes (SIGUSR2), waited for. */
    private static void dirty(Target t, int gen) throws Exception {
        assertThat(LazyTrees.ask(t.pid(), t.dir(), "dirtied", 12)).isEqualTo(Integer.toString(gen));
    }
}
