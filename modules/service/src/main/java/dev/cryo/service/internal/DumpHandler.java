package dev.cryo.service.internal;

import java.net.InetAddress;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.pagexfer.PageServerEndpoint;
import dev.cryo.service.internal.rpc.CriuDumpResp;
import dev.cryo.service.internal.rpc.CriuNetworkLockMethod;
import dev.cryo.service.internal.rpc.CriuOpts;
import dev.cryo.service.internal.rpc.CriuPreDumpMode;
import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.syscalls.Kernel;

/**
 * DUMP, PRE_DUMP and SINGLE_PRE_DUMP: {@code cryo dump} and {@code cryo pre-dump} with the request's
 * options, in the service's turn for tree operations. A request without {@code pid} asks CRIU to dump the
 * client itself; cryo's service does not, and says so.
 */
final class DumpHandler implements RequestHandler {
    private final boolean preDump;

    DumpHandler(boolean preDump) {
        this.preDump = preDump;
    }

    @Override
    public CriuResp.Builder serve(Request r) throws RequestFailure, InterruptedException {
        CriuOpts o = r.opts();
        if (!o.hasPid()) {
            throw new RequestFailure(Kernel.EBADRQC, "opts.pid is not set: cryo's service does not dump the client itself");
        }
        int pid = o.getPid();
        if (pid <= 0) {
            throw new RequestFailure(Kernel.EBADRQC, "opts.pid " + pid + " is not a process id");
        }
        Path images = ClientDirs.imagesDir(o, r.peer());
        try (RequestLog log = RequestLog.open(o, ClientDirs.workDir(o, r.peer(), images), r.context().err)) {
            String what = (preDump ? "pre-dump" : "dump") + " of pid " + pid + " into " + images;
            log.outcome(what + " asked by pid " + r.peer().pid());
            try (TreeLock.Turn turn = r.context().trees.acquire(r.cancel())) {
                // checked in the turn: a tree dumped before ours may have been this one
                if (!Files.exists(Path.of("/proc", Integer.toString(pid)))) {
                    throw new RequestFailure(Kernel.ESRCH, "no process with pid " + pid);
                }
                DumpOptions options = DumpOptions.of(pid, images)
                        .withLeaveRunning(o.getLeaveRunning())
                        .withShellJob(o.getShellJob())
                        .withFileLocks(o.getFileLocks())
                        .withPrevImagesDir(parent(o))
                        .withTrackMem(preDump || o.getTrackMem())
                        .withPreDumpMode(o.getPreDumpMode() == CriuPreDumpMode.VM_READ ? PreDumpMode.READ : PreDumpMode.SPLICE)
                        .withWarmUp(r.context().warmUp)
                        .withNetwork(new DumpOptions.Network(o.getTcpEstablished(), o.getTcpClose(), o.getExtUnixSk(),
                                o.getNetworkLock() != CriuNetworkLockMethod.SKIP))
                        .withPageServer(pageServer(o))
                        .withListener(log);
                DumpStats stats = preDump ? Dumper.preDump(options, r.cancel()) : Dumper.dump(options, r.cancel());
                log.outcome(what + ": done");
                log.stats(stats);
            } catch (DumpException e) {
                log.error(e.getMessage());
                throw new RequestFailure(Failures.errno(e), e.getMessage(), e);
            } catch (RequestFailure e) {
                log.error(e.getMessage());
                throw e;
            }
        }
        return preDump ? CriuResp.newBuilder() : CriuResp.newBuilder().setDump(CriuDumpResp.newBuilder().setRestored(false));
    }

    @Override
    public void onFailure(CriuResp.Builder resp) {
        if (!preDump) {
            resp.setDump(CriuDumpResp.newBuilder().setRestored(false)); // as CRIU answers a failed dump
        }
    }

    /** parent_img: the previous step, relative to the images directory as {@code --prev-images-dir}. */
    private static Path parent(CriuOpts o) throws RequestFailure {
        if (!o.hasParentImg()) {
            return null;
        }
        try {
            return Path.of(o.getParentImg());
        } catch (InvalidPathException e) {
            throw new RequestFailure(Kernel.EBADRQC, "opts.parent_img is not a path: " + e.getMessage());
        }
    }

    /** The page server that {@code opts.ps} names (address and port), or null: the pages go with the images. */
    private static PageServerEndpoint pageServer(CriuOpts o) throws RequestFailure {
        if (!o.hasPs()) {
            return null;
        }
        try {
            return new PageServerEndpoint(InetAddress.getByName(o.getPs().getAddress()), o.getPs().getPort(), null);
        } catch (java.net.UnknownHostException | IllegalArgumentException e) {
            throw new RequestFailure(Kernel.EBADRQC, "opts.ps does not name a page server: " + e.getMessage());
        }
    }
}
