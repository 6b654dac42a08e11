package dev.cryo.migrate;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/**
 * Post-copy after pre-copy, both sides in this JVM on loopback: the pages pre-copy sent are placed on the destination
 * by its lazy-pages daemon from its own image cache, after the tree runs, and never asked of the source again; only
 * the pages written since the last round come from the source. pd_dirty's checksum of all its memory, taken just
 * before the final dump and asked of the copy, says the memory is exact.
 */
class PostCopyAfterPreCopyTest {
    private static final int MIB = 64;

    @TempDir
    Path work;

    @Test
    void thePreCopiedPagesComeFromTheDestinationsCacheAndOnlyTheRestFromTheSource() throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        Path dir = work.resolve("t");
        List<String> serverLog = new CopyOnWriteArrayList<>();
        int copy = -1;
        try (Target t = Target.start("pd_dirty", dir, Target.Stdio.DEV_NULL, Integer.toString(MIB), "10");
             MigrationServer server = MigrationServer.listen(new MigrationServer.Options(loopback, 0,
                     Files.createDirectories(work.resolve("dst")), true, null, false, null), serverLog::add)) {
            CompletableFuture<MigrationServer.Result> served = CompletableFuture.supplyAsync(() -> server.serve(new Cancellation()));
            String[] before = new String[1];
            Migration.Listener listener = new Migration.Listener() {
                @Override
                public void phase(String what) {
                    if (what.equals("final dump")) {
                        // after pre-copy's one round, the tree running: 1% of its pages written anew, then its checksum
                        ask(t.pid(), dir, "dirtied", Kernel.SIGUSR2);
                        before[0] = ask(t.pid(), dir, "check", Kernel.SIGUSR1);
                    }
                }
            };
            Migration.Stats s = Migration.run(new Migration.Options(t.pid(), loopback, server.port(), null, new PreCopy(1),
                    DumpOptions.Network.NONE, false, true, true), listener, new Cancellation());
            MigrationServer.Result r = served.get(120, TimeUnit.SECONDS);
            copy = r.rootPid();
            assertThat(t.awaitExit(30)).as("the source's tree, once its memory was taken").isTrue();

            long treePages = MIB * 256L;
            long written = treePages / 100; // pd_dirty's 10 per mille, one generation
            Migration.PostCopy post = s.postCopy();
            assertThat(s.rounds()).hasSize(1);
            assertThat(s.rounds().getFirst().pages()).as("pre-copy's round: the whole buffer").isGreaterThanOrEqualTo(treePages);
            // what the final dump left here is what was written since the round, and it alone crossed the link again
            assertThat(post.leftLazy()).as("pages the final dump left lazy").isBetween(written, written + 64);
            assertThat(post.pages()).as("pages the destination fetched from the source").isEqualTo(post.leftLazy());
            assertThat(post.bytes()).as("bytes the source served").isEqualTo(post.leftLazy() * dev.cryo.syscalls.Page.SIZE);
            // the restore wrote only its eager few: the pre-copied pages came after, from the destination's cache
            assertThat(s.restorePages()).as("pages the destination's restore wrote").isLessThan(64);
            assertThat(ask(copy, dir, "check", Kernel.SIGUSR1)).as("the copy's checksum of its memory").isEqualTo(before[0]);
        } finally {
            if (copy > 0) {
                MigrationServer.killTree(copy);
            }
        }
    }

    /** Signals {@code pid} and waits for pd_dirty's answer in {@code DIR/name} (removed first); returns it. */
    private static String ask(int pid, Path dir, String name, int signal) {
        Path answer = dir.resolve(name);
        try {
            Files.deleteIfExists(answer);
            Signals.kill(pid, signal);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(answer)) {
                assertThat(System.nanoTime()).as("pid %d writes %s", pid, answer).isLessThan(deadline);
                Thread.sleep(5);
            }
            return Files.readString(answer).strip();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
