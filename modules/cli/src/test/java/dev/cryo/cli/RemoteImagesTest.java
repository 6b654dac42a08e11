package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.ImageKind;
import dev.cryo.images.RemoteImageStore;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.migrate.ImageCache;
import dev.cryo.migrate.ImageProxy;
import dev.cryo.parasite.StopPoints;
import dev.cryo.testkit.Target;

/**
 * {@code --remote} as a user meets it when things go wrong: the image proxy gone in the middle of a dump, a step
 * the daemons refuse, daemons that are not there, options that do not go together. Each is one line, and the
 * tree is released running and intact.
 */
class RemoteImagesTest {
    @TempDir
    Path work;

    @AfterEach
    void stopWatching() {
        StopPoints.watch(null);
    }

    /** A cache and a proxy in this JVM, on loopback. */
    private record Daemons(ImageCache cache, ImageProxy proxy) implements AutoCloseable {
        static Daemons start(Path dir) {
            ImageCache cache = ImageCache.listen(new ImageCache.Options(InetAddress.getLoopbackAddress(), 0, dir.resolve("cache.sock"), null), null);
            Thread.ofPlatform().daemon(true).name("test-image-cache").start(() -> {
                try {
                    cache.serve();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            ImageProxy proxy = ImageProxy.connect(new ImageProxy.Options(InetAddress.getLoopbackAddress(), cache.port(), dir.resolve("proxy.sock"), null), null);
            Thread.ofPlatform().daemon(true).name("test-image-proxy").start(() -> {
                try {
                    proxy.serve();
                } catch (InterruptedException | RuntimeException e) {
                    // the tests look at what cryo's commands say
                }
            });
            return new Daemons(cache, proxy);
        }

        String proxySocket() {
            return proxy.localSocket().toString();
        }

        String cacheSocket() {
            return cache.localSocket().toString();
        }

        @Override
        public void close() {
            try (cache) {
                proxy.close();
            }
        }
    }

    private static int tracer(int pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("TracerPid:")) {
                return Integer.parseInt(line.substring(10).trim());
            }
        }
        return 0;
    }

    @Test
    void theProxyGoneInTheMiddleOfADumpFailsItInOneLineAndTheTreeRunsOnIntact() throws Exception {
        try (Daemons d = Daemons.start(work); Target target = Target.start("dumpee", work.resolve("t"), "64", "2")) {
            AtomicBoolean once = new AtomicBoolean();
            // after the first process's pages, while the tree is frozen: the source host's proxy goes
            StopPoints.watch(point -> {
                if (point.equals("pages") && once.compareAndSet(false, true)) {
                    d.proxy().close();
                }
            });
            MainTest.Run dump = MainTest.cryo("dump", "-t", Integer.toString(target.pid()), "-D", "/x/final", "-j",
                    "--remote", "--local-socket", d.proxySocket());
            StopPoints.watch(null);

            assertThat(once).as("the dump reached its pages").isTrue();
            assertThat(dump.exit()).isEqualTo(1);
            assertThat(dump.errLines()).singleElement().asString()
                    .startsWith("cryo: cannot dump pid " + target.pid() + ": the image proxy at " + d.proxySocket() + ": ");
            assertThat(tracer(target.pid())).as("nobody traces the target").isZero();
            assertThat(target.check()).as("the target's own check of its memory, files, pipe, threads and child").isEqualTo("PASS");

            // the destination: nothing of the step to restore, said in one line naming an image and the proxy
            MainTest.Run restore = MainTest.cryo("restore", "-D", "/x/final", "-d", "--remote", "--local-socket", d.cacheSocket());
            assertThat(restore.exit()).isEqualTo(1);
            assertThat(restore.errLines()).singleElement().asString()
                    .startsWith("cryo: cannot restore snapshot /x/final from the image cache at " + d.cacheSocket() + ": ")
                    .containsPattern("[a-z]+(-\\d+)?\\.img of /x/final never arrived: the image proxy at 127\\.0\\.0\\.1:\\d+ ");
        }
    }

    @Test
    void aStepTheDaemonsRefuseLeavesTheTreeUntouched() throws Exception {
        try (Daemons d = Daemons.start(work); Target target = Target.start("dumpee", work.resolve("t"), "16", "1")) {
            try (RemoteImageStore first = RemoteImageStore.claim(ImageDaemon.proxy(d.proxy().localSocket()), "/x/pre1", null, false, null)) {
                first.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).build());
                first.complete();
            }
            // a second migration through the same proxy (a dump that is no step of the first)
            MainTest.Run dump = MainTest.cryo("dump", "-t", Integer.toString(target.pid()), "-D", "/y/final", "-j",
                    "--remote", "--local-socket", d.proxySocket());
            assertThat(dump.errLines()).containsExactly("cryo: cannot dump into snapshot /y/final: the image proxy at " + d.proxySocket()
                    + ": snapshot /y/final has no parent, but this image proxy serves the migration that began with /x/pre1"
                    + " (one migration: give --prev-images-dir)");
            // a step on top of a snapshot that is not there
            MainTest.Run orphan = MainTest.cryo("pre-dump", "-t", Integer.toString(target.pid()), "-D", "/x/pre3",
                    "--prev-images-dir", "../pre2", "--remote", "--local-socket", d.proxySocket());
            assertThat(orphan.errLines()).containsExactly("cryo: cannot pre-dump into snapshot /x/pre3: the image proxy at " + d.proxySocket()
                    + ": its parent snapshot /x/pre2 is not through this image proxy (it holds /x/pre1)");
            assertThat(tracer(target.pid())).isZero();
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void daemonsThatAreNotThereAndOptionsThatDoNotGoTogetherAreOneLine() throws Exception {
        String sock = work.resolve("nobody.sock").toString();
        Process sleeper = new ProcessBuilder("sleep", "60").start(); // a process the dump would take, were the proxy there
        try {
            assertThat(MainTest.cryo("dump", "-t", Long.toString(sleeper.pid()), "-D", "/x/final", "--remote", "--local-socket", sock).errLines())
                    .containsExactly("cryo: cannot dump into snapshot /x/final: cannot reach the image proxy at " + sock
                            + ": nothing listens there (start cryo image-proxy)");
        } finally {
            sleeper.destroyForcibly().waitFor();
        }
        assertThat(MainTest.cryo("restore", "-D", "/x/final", "--remote", "--local-socket", sock).errLines())
                .containsExactly("cryo: cannot restore snapshot /x/final from the image cache at " + sock + ": cannot reach the image cache at "
                        + sock + ": nothing listens there (start cryo image-cache)");
        assertThat(MainTest.cryo("pre-dump", "-t", "1", "-D", "/x/pre1", "--local-socket", sock).errLines())
                .containsExactly("cryo: --local-socket is for --remote");
        assertThat(MainTest.cryo("dump", "-t", "2", "-D", "/x/final", "--remote", "--page-server", "--port", "27001").errLines())
                .containsExactly("cryo: --remote sends every image through the image proxy, --page-server the pages to a page server: use one");
        MainTest.Run proxy = MainTest.cryo("image-proxy", "--address", "127.0.0.1", "--port", "1", "--local-socket", sock);
        assertThat(proxy.exit()).isEqualTo(1);
        assertThat(proxy.errLines()).containsExactly("cryo: image proxy: the image cache: cannot connect to 127.0.0.1:1: connection refused (ECONNREFUSED)");
    }
}
