package dev.cryo.service.internal;

import java.nio.file.Path;

import dev.cryo.restore.RestoreException;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.RestoreStats;
import dev.cryo.restore.Restorer;
import dev.cryo.service.internal.rpc.CriuNetworkLockMethod;
import dev.cryo.service.internal.rpc.CriuOpts;
import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.service.internal.rpc.CriuRestoreResp;

/**
 * RESTORE: {@code cryo restore -d} with the request's options, in the service's turn for tree operations.
 * Always detached, as CRIU's service restores: the answer, with the tree's root pid, comes once it runs, and
 * the tree is then no child of the service's.
 */
final class RestoreHandler implements RequestHandler {
    @Override
    public CriuResp.Builder serve(Request r) throws RequestFailure, InterruptedException {
        CriuOpts o = r.opts();
        Path images = ClientDirs.imagesDir(o, r.peer());
        RestoreStats stats;
        try (RequestLog log = RequestLog.open(o, ClientDirs.workDir(o, r.peer(), images), r.context().err)) {
            String what = "restore from " + images;
            log.outcome(what + " asked by pid " + r.peer().pid());
            try (TreeLock.Turn turn = r.context().trees.acquire(r.cancel())) {
                // orphan: once the tree runs, its keeper leaves it to the nearest subreaper or init, as CRIU's
                // service worker does by exiting; the service's JVM cannot reap orphans of its own
                stats = Restorer.restore(RestoreOptions.of(images).withDetached(true).withOrphan(true)
                        .withShellJob(o.getShellJob())
                        .withNetwork(new RestoreOptions.Network(o.getTcpEstablished(), o.getTcpClose(), o.getExtUnixSk(),
                                o.getNetworkLock() != CriuNetworkLockMethod.SKIP))
                        .withListener(log), r.cancel());
                log.outcome(what + ": pid " + stats.rootPid() + " runs");
                log.stats(stats);
            } catch (RestoreException e) {
                log.error(e.getMessage());
                throw new RequestFailure(Failures.errno(e), e.getMessage(), e);
            }
        }
        return CriuResp.newBuilder().setRestore(CriuRestoreResp.newBuilder().setPid(stats.rootPid()));
    }

    @Override
    public void onFailure(CriuResp.Builder resp) {
        resp.setRestore(CriuRestoreResp.newBuilder().setPid(-1)); // pid is required; CRIU answers -1 too
    }
}
