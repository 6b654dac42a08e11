package dev.cryo.restore;

import java.nio.file.Path;
import java.util.Objects;

import dev.cryo.images.remote.ImageDaemon;

/**
 * What to restore and how.
 *
 * @param imagesDir directory holding a complete dump (inventory.img)
 * @param detached  return once the tree runs (criu's {@code -d}); otherwise wait until it exits
 * @param samePid   give each task the pid it had at dump ({@code clone3} with {@code set_tid}); a taken pid is an error
 * @param pidns     restore the tree into a new pid namespace, where its tasks have their dumped pids (so a
 *                  dump taken with --leave-running can run beside its original); an init of cryo's is pid 1 there
 * @param shellJob  the dump is a shell job (its session leader was outside the tree): the tree joins cryo's
 *                  session and its terminal is reopened by path; as with CRIU, restoring a shell job needs it
 * @param listener  hears the steps of the restore
 * @param orphan    with {@code detached}: once the tree runs, the keeper that holds and reaps it exits, so that the
 *                  tree is reparented to the nearest subreaper or init, as CRIU leaves it, and no process of cryo's
 *                  is left (for a command that exits after the restore). Without it the keeper stays the tree's
 *                  parent and reaps it, as long as the thread that restored it lives: a JVM cannot reap orphans
 *                  itself without taking its own children's statuses
 * @param network   connections that reach outside the tree, as CRIU's options allow them
 * @param lazyPages restore lazily: private anonymous memory is left empty and filled on fault by the lazy-pages
 *                  daemon that this hands each process's userfaultfd to; null for a plain restore
 * @param remote    the image cache to read every image from (seed 002), or null; {@code imagesDir} then names the
 *                  snapshot (the dump's {@code -D}), and an image that has not arrived yet is waited for
 */
public record RestoreOptions(Path imagesDir, boolean detached, boolean samePid, boolean pidns, boolean shellJob,
                             RestoreListener listener, boolean orphan, Network network, LazyHandoff lazyPages,
                             ImageDaemon remote) {
    public RestoreOptions {
        Objects.requireNonNull(imagesDir, "imagesDir");
        Objects.requireNonNull(listener, "listener");
        network = network == null ? Network.NONE : network;
    }

    /**
     * Connections, as CRIU's options name them.
     *
     * @param tcpEstablished restore established TCP connections (dumped with --tcp-established), connected
     * @param tcpClose       restore established TCP connections as closed sockets
     * @param extUnixSk      connect unix sockets again to the named sockets outside the tree they were connected to
     * @param lock           lift the lock the dump put on the established connections, once they are restored
     */
    public record Network(boolean tcpEstablished, boolean tcpClose, boolean extUnixSk, boolean lock) {
        public static final Network NONE = new Network(false, false, false, true);
    }

    public RestoreOptions(Path imagesDir, boolean detached, boolean samePid, boolean pidns, boolean shellJob,
                          RestoreListener listener, boolean orphan) {
        this(imagesDir, detached, samePid, pidns, shellJob, listener, orphan, Network.NONE, null, null);
    }

    public RestoreOptions withNetwork(Network n) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, shellJob, listener, orphan, n, lazyPages, remote);
    }

    public RestoreOptions withTcpEstablished(boolean v) {
        return withNetwork(new Network(v, network.tcpClose(), network.extUnixSk(), network.lock()));
    }

    public RestoreOptions withTcpClose(boolean v) {
        return withNetwork(new Network(network.tcpEstablished(), v, network.extUnixSk(), network.lock()));
    }

    public RestoreOptions withExtUnixSk(boolean v) {
        return withNetwork(new Network(network.tcpEstablished(), network.tcpClose(), v, network.lock()));
    }

    public static RestoreOptions of(Path imagesDir) {
        return new RestoreOptions(imagesDir, false, true, false, false, RestoreListener.SILENT, false, Network.NONE, null, null);
    }

    public RestoreOptions withDetached(boolean v) {
        return new RestoreOptions(imagesDir, v, samePid, pidns, shellJob, listener, orphan, network, lazyPages, remote);
    }

    public RestoreOptions withSamePid(boolean v) {
        return new RestoreOptions(imagesDir, detached, v, pidns, shellJob, listener, orphan, network, lazyPages, remote);
    }

    public RestoreOptions withPidns(boolean v) {
        return new RestoreOptions(imagesDir, detached, samePid, v, shellJob, listener, orphan, network, lazyPages, remote);
    }

    public RestoreOptions withShellJob(boolean v) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, v, listener, orphan, network, lazyPages, remote);
    }

    public RestoreOptions withListener(RestoreListener l) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, shellJob, l, orphan, network, lazyPages, remote);
    }

    public RestoreOptions withLazyPages(LazyHandoff h) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, shellJob, listener, orphan, network, h, remote);
    }

    public RestoreOptions withOrphan(boolean v) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, shellJob, listener, v, network, lazyPages, remote);
    }

    /** Every image from the image cache {@code d} (null: from {@code imagesDir}). */
    public RestoreOptions withRemote(ImageDaemon d) {
        return new RestoreOptions(imagesDir, detached, samePid, pidns, shellJob, listener, orphan, network, lazyPages, d);
    }
}
