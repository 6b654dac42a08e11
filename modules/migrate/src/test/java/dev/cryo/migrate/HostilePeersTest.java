package dev.cryo.migrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.ImageKind;
import dev.cryo.images.RawWriter;
import dev.cryo.images.RemoteImageStore;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.remote.FrameChannel;
import dev.cryo.images.remote.RemoteImageException;
import dev.cryo.images.remote.UnixLink;
import dev.cryo.images.remote.proto.ImageHeader;
import dev.cryo.images.remote.proto.RemoteFrame;
import dev.cryo.images.remote.proto.RemoteFrame.Kind;
import dev.cryo.migrate.internal.TcpLink;
import dev.cryo.pagexfer.TcpStream;

/**
 * Bad input on every hop: a cryo that breaks the protocol to the proxy, a proxy that breaks it to the cache,
 * connections cut, images never sent, a second migration. Each is refused in one line naming the image and
 * the peer; nothing of a step that went wrong stays where a restore could take it for complete.
 */
class HostilePeersTest {
    @TempDir
    Path dir;

    /** A hand-made cryo on the proxy's socket, which has claimed {@code snapshot}. */
    private static FrameChannel claimed(Daemons d, String snapshot) {
        FrameChannel ch = new FrameChannel(UnixLink.connect(d.proxyDaemon(), null, null));
        ch.ask(RemoteFrame.newBuilder().setKind(Kind.CLAIM).setSnapshot(snapshot).build());
        assertThat(ch.expect("the claim's answer", Kind.ACCEPTED).getKind()).isEqualTo(Kind.ACCEPTED);
        return ch;
    }

    private static RemoteFrame end(String snapshot, String name, long size) {
        return RemoteFrame.newBuilder().setKind(Kind.END).setImage(FrameChannel.header(snapshot, name, size)).build();
    }

    /** The FAILED frame a daemon ended a connection with. */
    private static String failure(FrameChannel ch) {
        RemoteFrame f = ch.receive();
        assertThat(f).as("a last frame").isNotNull();
        assertThat(f.getKind()).isEqualTo(Kind.FAILED);
        return f.getText();
    }

    /** What a restore hears of {@code snapshot} once the proxy is gone: the cache's view. */
    private static RemoteImageException restoreOf(Daemons d, String snapshot) {
        try (RemoteImageStore s = RemoteImageStore.open(d.cacheDaemon(), snapshot, null)) {
            s.openRawReader("inventory.img").close();
            throw new AssertionError("the cache served " + snapshot);
        } catch (RemoteImageException e) {
            return e;
        }
    }

    @Test
    void aClosingMarkThatDoesNotAccountForTheBytesIsRefusedAndTheStepDropped() throws Exception {
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofConfined()) {
            try (FrameChannel ch = claimed(d, "/x/pre1")) {
                ch.sendData("/x/pre1", "core-1.img", a.allocate(100));
                ch.ask(end("/x/pre1", "core-1.img", 200));
                assertThat(failure(ch)).matches("cryo pid \\d+: core-1\\.img of /x/pre1: its closing mark says 200 bytes, 100 came");
            }
            // the step is gone from both: the same snapshot can be claimed again, and completed
            try (RemoteImageStore again = RemoteImageStore.claim(d.proxyDaemon(), "/x/pre1", null, false, null)) {
                again.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).build());
                again.complete();
            }
            try (RemoteImageStore restore = RemoteImageStore.open(d.cacheDaemon(), "/x/pre1", null)) {
                assertThat(restore.list()).containsExactly("inventory.img");
            }
        }
    }

    @Test
    void aPieceLongerThanItsHeaderSaysCannotSlipAnImageIn() throws Exception {
        // a header announcing 4 bytes followed by 12: the 8 extra are read as the next frame's length, and refused
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofConfined(); FrameChannel ch = claimed(d, "/x/pre1")) {
            ch.sendData("/x/pre1", "core-1.img", a.allocate(4));
            MemorySegment extra = a.allocate(8).fill((byte) 0x7f);
            ch.link().send(extra);
            assertThat(failure(ch)).matches("cryo pid \\d+: a frame of 2139062143 bytes, over the 1048576-byte limit");
            d.proxy.close();
            assertThat(restoreOf(d, "/x/pre1")).hasMessageMatching(
                    "the image cache at .*cache\\.sock: inventory\\.img of /x/pre1 never arrived: the image proxy at 127\\.0\\.0\\.1:\\d+"
                            + " aborted the step that wrote it; then the image proxy at 127\\.0\\.0\\.1:\\d+ closed the connection");
        }
    }

    @Test
    void namesWithSlashOrDotDotAreRefusedByTheProxy() throws Exception {
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofConfined()) {
            for (String name : new String[] {"../../etc/passwd", "a..img", "sub/core-1.img", "x".repeat(201)}) {
                try (FrameChannel ch = claimed(d, "/x/" + name.length())) {
                    ch.sendData("/x/" + name.length(), name, a.allocate(16));
                    assertThat(failure(ch)).as(name).startsWith("cryo pid ").contains(": image \"" + name + "\" of snapshot \"/x/"
                            + name.length() + "\": invalid name: it ");
                }
            }
            try (FrameChannel ch = new FrameChannel(UnixLink.connect(d.proxyDaemon(), null, null))) {
                ch.ask(RemoteFrame.newBuilder().setKind(Kind.CLAIM).setSnapshot("/x/../../etc").build());
                assertThat(failure(ch)).matches("cryo pid \\d+: snapshot \"/x/\\.\\./\\.\\./etc\": invalid snapshot id: it climbs out with \"\\.\\.\"");
            }
        }
    }

    /** A hand-made proxy on the cache's TCP port. */
    private static FrameChannel hostileProxy(ImageCache cache) {
        return new FrameChannel(new TcpLink(TcpStream.connect(InetAddress.getLoopbackAddress(), cache.port(), null, null, null), "image cache"));
    }

    @Test
    void aProxyThatSendsABadNameOrTooBigAPieceIsRefusedByTheCache() throws Exception {
        try (ImageCache cache = ImageCache.listen(new ImageCache.Options(InetAddress.getLoopbackAddress(), 0, dir.resolve("c.sock"), null), null)) {
            CompletableFuture<ImageCache.Stats> served = Daemons.inThread(cache::serve);
            try (FrameChannel proxy = hostileProxy(cache)) {
                proxy.ask(RemoteFrame.newBuilder().setKind(Kind.CLAIM).setSnapshot("/x/pre1").build());
                proxy.expect("the claim's answer", Kind.ACCEPTED);
                // a frame made by hand: the name checks of FrameChannel.sendData are not on the sending side
                ImageHeader bad = ImageHeader.newBuilder().setName("../pages-1.img").setSnapshot("/x/pre1").setSize(0).build();
                proxy.ask(RemoteFrame.newBuilder().setKind(Kind.END).setImage(bad).build());
                assertThat(failure(proxy)).matches("the image proxy at 127\\.0\\.0\\.1:\\d+: image \"\\.\\./pages-1\\.img\" of snapshot"
                        + " \"/x/pre1\": invalid name: it contains '/'");
            }
            try (RemoteImageStore restore = RemoteImageStore.open(Daemons.of(cache), "/x/pre1", null)) {
                assertThatThrownBy(() -> restore.openRawReader("inventory.img")).isInstanceOf(RemoteImageException.class)
                        .hasMessageMatching(".*: inventory\\.img of /x/pre1 never arrived: the image proxy at 127\\.0\\.0\\.1:\\d+:"
                                + " image \"\\.\\./pages-1\\.img\" of snapshot \"/x/pre1\": invalid name: it contains '/'");
            }
            assertThat(served).isNotDone();
        }
    }

    @Test
    void aDumpCutInsideAnImageIsDroppedAndTheLinkGoesOnForTheNextStep() throws Exception {
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofConfined()) {
            FrameChannel ch = claimed(d, "/x/pre1");
            // a piece of 1 MiB announced, 1000 bytes of it sent, then the dump is gone
            synchronized (ch.sendLock()) {
                ch.sendDataHeader("/x/pre1", "pages-1.img", 1 << 20);
                ch.sendRaw(a.allocate(1000));
            }
            ch.close();
            // the proxy made up the piece on the link and aborted the step: a new step of the same name goes through
            try (RemoteImageStore again = RemoteImageStore.claim(d.proxyDaemon(), "/x/pre1", null, true, null)) {
                try (RawWriter w = again.openRawWriter("pages-1.img")) {
                    w.write(a.allocate(8192).fill((byte) 3));
                    w.commit();
                }
                again.complete();
            }
            assertThat(d.proxyEnd.get(30, TimeUnit.SECONDS).snapshots()).isEqualTo(1);
            try (RemoteImageStore restore = RemoteImageStore.open(d.cacheDaemon(), "/x/pre1", null);
                 var pages = restore.openRawReader("pages-1.img")) {
                assertThat(pages.size()).isEqualTo(8192);
            }
            assertThat(d.proxyLog).anyMatch(l -> l.matches("cryo pid \\d+: the connection was cut 1000 bytes into a piece of 1048576 bytes"
                    + " of pages-1\\.img of /x/pre1"));
        }
    }

    @Test
    void aRestoreWaitingForAnImageHearsWhenTheProxyGoesWithoutIt() throws Exception {
        try (Daemons d = Daemons.start(dir)) {
            RemoteImageStore dump = RemoteImageStore.claim(d.proxyDaemon(), "/x/final", null, true, null);
            dump.writeEntry(ImageKind.FS, 1, FsEntry.newBuilder().setCwdId(1).setRootId(1).build());
            // the restore starts early: fs-1.img is there, pstree.img is waited for (no inventory yet: more may come)
            try (RemoteImageStore restore = RemoteImageStore.open(d.cacheDaemon(), "/x/final", null)) {
                assertThat(restore.openRawReader("fs-1.img").size()).isPositive();
                CompletableFuture<dev.cryo.images.RawReader> waiting = Daemons.inThread(() -> restore.openRawReader("pstree.img"));
                Thread.sleep(200); // let it wait; it fails the same if it asks later
                assertThat(waiting).isNotDone();
                d.proxy.close(); // the source host goes away; the dump with it
                dump.close();
                assertThatThrownBy(() -> waiting.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOf(RemoteImageException.class)
                        .hasMessageMatching("the image cache at .*cache\\.sock: pstree\\.img of /x/final never arrived:"
                                + " the image proxy at 127\\.0\\.0\\.1:\\d+ (closed the connection|aborted the step that wrote it.*)");
            }
        }
    }

    @Test
    void anImageTheProxyNeverHadIsMissingNamingImageAndPeer() throws Exception {
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofConfined()) {
            try (RemoteImageStore dump = RemoteImageStore.claim(d.proxyDaemon(), "/x/final", null, true, null)) {
                try (RawWriter w = dump.openRawWriter("core-7.img")) {
                    w.write(a.allocate(64)); // and never committed: dropped
                }
                dump.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).build());
                dump.complete();
            }
            try (RemoteImageStore restore = RemoteImageStore.open(d.cacheDaemon(), "/x/final", null)) {
                assertThat(restore.exists("core-7.img")).isFalse();
                for (String name : new String[] {"core-7.img", "pstree.img"}) {
                    assertThatThrownBy(() -> restore.openRawReader(name)).isInstanceOf(RemoteImageException.class)
                            .hasMessageMatching("the image cache at .*cache\\.sock: " + name.replace(".", "\\.")
                                    + " is not in snapshot /x/final: the image proxy at 127\\.0\\.0\\.1:\\d+ completed the snapshot without it");
                }
            }
        }
    }

    @Test
    void twoMigrationsIntoOneCacheAreRefused() throws Exception {
        try (Daemons d = Daemons.start(dir)) {
            try (RemoteImageStore first = RemoteImageStore.claim(d.proxyDaemon(), "/x/pre1", null, false, null)) {
                first.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).build());
                first.complete();
            }
            // another chain through the same proxy
            assertThatThrownBy(() -> RemoteImageStore.claim(d.proxyDaemon(), "/y/final", null, true, null))
                    .isInstanceOf(RemoteImageException.class)
                    .hasMessageMatching("the image proxy at .*proxy\\.sock: snapshot /y/final has no parent, but this image proxy"
                            + " serves the migration that began with /x/pre1 \\(one migration: give --prev-images-dir\\)");
            // another proxy into the same cache
            try (ImageProxy second = ImageProxy.connect(new ImageProxy.Options(InetAddress.getLoopbackAddress(), d.cache.port(),
                    dir.resolve("second.sock"), null), null)) {
                CompletableFuture<ImageProxy.Stats> end = Daemons.inThread(second::serve);
                assertThatThrownBy(() -> RemoteImageStore.claim(Daemons.of(second), "/y/final", null, true, null))
                        .isInstanceOf(RemoteImageException.class)
                        .hasMessageMatching("the image proxy at .*second\\.sock: the image cache at 127\\.0\\.0\\.1:\\d+: this image cache"
                                + " serves the migration from the image proxy at 127\\.0\\.0\\.1:\\d+ already; one migration per cache \\(start another cache\\)");
                assertThatThrownBy(() -> end.get(30, TimeUnit.SECONDS)).cause().isInstanceOf(RemoteImageException.class)
                        .hasMessageContaining("this image cache serves the migration from");
            }
            // the first migration goes on
            try (RemoteImageStore last = RemoteImageStore.claim(d.proxyDaemon(), "/x/final", "/x/pre1", true, null)) {
                last.writeEntry(ImageKind.INVENTORY, InventoryEntry.newBuilder().setImgVersion(2).build());
                last.complete();
            }
            assertThat(d.proxyEnd.get(30, TimeUnit.SECONDS).snapshots()).isEqualTo(2);
        }
    }

    @Test
    void aPieceBeyondTheAnnouncedSizeOrAnImageBegunAfterTheInventoryIsRefused() throws Exception {
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofConfined()) {
            try (FrameChannel ch = claimed(d, "/x/pre1")) {
                ch.ask(RemoteFrame.newBuilder().setKind(Kind.ANNOUNCE).setImage(FrameChannel.header("/x/pre1", "pages-1.img", 4096)).build());
                ch.sendData("/x/pre1", "pages-1.img", a.allocate(8192));
                assertThat(failure(ch)).matches("cryo pid \\d+: pages-1\\.img of /x/pre1: a piece of 8192 bytes at offset 0,"
                        + " beyond the 4096 bytes announced");
            }
            try (FrameChannel ch = claimed(d, "/x/pre1")) {
                ch.sendData("/x/pre1", "inventory.img", a.allocate(16));
                ch.ask(end("/x/pre1", "inventory.img", 16));
                ch.sendData("/x/pre1", "core-9.img", a.allocate(16));
                assertThat(failure(ch)).matches("cryo pid \\d+: core-9\\.img of /x/pre1 begins after inventory\\.img,"
                        + " after which only images announced before it may come");
            }
        }
    }

    @Test
    void aRestoreReadingPagesAsTheyArriveHearsWhenTheStepIsAborted() throws Exception {
        try (Daemons d = Daemons.start(dir); Arena a = Arena.ofShared()) {
            RemoteImageStore dump = RemoteImageStore.claim(d.proxyDaemon(), "/x/final", null, true, null);
            RawWriter pages = dump.openRawWriter("pages-1.img");
            pages.announce(2 * 4096);
            pages.write(a.allocate(4096).fill((byte) 7));
            try (RemoteImageStore restore = RemoteImageStore.open(d.cacheDaemon(), "/x/final", null)) {
                MemorySegment mapped = restore.mapForReading("pages-1.img", java.util.List.of(new long[] {0, 2 * 4096}), a).orElseThrow();
                restore.awaitBytes("pages-1.img", 4096);
                assertThat(mapped.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 4095)).isEqualTo((byte) 7);
                CompletableFuture<Boolean> waiting = Daemons.inThread(() -> {
                    restore.awaitBytes("pages-1.img", 2 * 4096);
                    return true;
                });
                Thread.sleep(200); // let it wait; it fails the same if it asks later
                assertThat(waiting).isNotDone();
                pages.close();
                dump.abortAll();
                dump.close();
                assertThatThrownBy(() -> waiting.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOf(RemoteImageException.class)
                        .hasMessageMatching("the image cache at .*cache\\.sock: pages-1\\.img of /x/final never arrived whole:"
                                + " the image proxy at 127\\.0\\.0\\.1:\\d+ aborted the step that wrote it");
            }
        }
    }
}
