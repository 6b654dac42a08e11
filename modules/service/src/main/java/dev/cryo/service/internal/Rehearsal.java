package dev.cryo.service.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import com.google.protobuf.CodedInputStream;

import dev.cryo.service.ServiceLog;
import dev.cryo.service.internal.rpc.CriuFeatures;
import dev.cryo.service.internal.rpc.CriuOpts;
import dev.cryo.service.internal.rpc.CriuReq;
import dev.cryo.service.internal.rpc.CriuReqType;
import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SeqpacketSocket;

/**
 * A client's round through a service of its own, on a socketpair, for a JDK AOT training run: every kind
 * of request that a client sends first (VERSION, CHECK, FEATURE_CHECK, a refused option, PRE_DUMP, DUMP,
 * RESTORE) on a small tree the caller started, so that the service's classes (the messages, their
 * descriptors, the option check) are in the cache. The tree is dumped, and so killed, then restored.
 */
public final class Rehearsal {
    private Rehearsal() {}

    /** Runs the round on the tree rooted at {@code pid}, images under {@code scratch}; returns its last answer's pid. */
    public static int run(int pid, Path scratch) throws IOException, InterruptedException {
        SeqpacketSocket[] pair = SeqpacketSocket.pair();
        Thread service = Thread.ofPlatform().name("cryo-rehearsal-service")
                .start(new Session(pair[1], new ServiceContext(ServiceLog.SILENT, System.err, false), uid()));
        java.util.List<Long> pids = new java.util.ArrayList<>(java.util.List.of((long) pid));
        ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> pids.add(d.pid())));
        try (SeqpacketSocket client = pair[0]; Fd pre = dir(scratch.resolve("rpc-pre")); Fd dump = dir(scratch.resolve("rpc-dump"))) {
            call(client, CriuReq.newBuilder().setType(CriuReqType.VERSION).setKeepOpen(true));
            call(client, CriuReq.newBuilder().setType(CriuReqType.CHECK).setKeepOpen(true));
            call(client, CriuReq.newBuilder().setType(CriuReqType.FEATURE_CHECK).setKeepOpen(true)
                    .setFeatures(CriuFeatures.newBuilder().setMemTrack(true)));
            call(client, CriuReq.newBuilder().setType(CriuReqType.DUMP).setKeepOpen(true)
                    .setOpts(CriuOpts.newBuilder().setImagesDirFd(-1).setPid(pid).setTcpEstablished(true)));
            call(client, CriuReq.newBuilder().setType(CriuReqType.PRE_DUMP)
                    .setOpts(CriuOpts.newBuilder().setImagesDirFd(pre.fd()).setPid(pid)));
            call(client, CriuReq.newBuilder().setType(CriuReqType.DUMP).setKeepOpen(true)
                    .setOpts(CriuOpts.newBuilder().setImagesDirFd(dump.fd()).setPid(pid).setParentImg("../rpc-pre")
                            .setTrackMem(true).setLogFile("dump.log").setLogLevel(4)));
            awaitFree(pids);
            return call(client, CriuReq.newBuilder().setType(CriuReqType.RESTORE)
                    .setOpts(CriuOpts.newBuilder().setImagesDirFd(dump.fd()).setLogFile("restore.log").setLogLevel(4)))
                    .getRestore().getPid();
        } finally {
            service.join();
        }
    }

    /**
     * Until the dumped tree's pids are free again (5 s at most): its processes stay zombies until their parent
     * reaps them, and an init slow to do so made the RESTORE fail with "pid taken", untrained.
     */
    private static void awaitFree(java.util.List<Long> pids) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        while (pids.stream().anyMatch(p -> Files.exists(Path.of("/proc", Long.toString(p)))) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    private static CriuResp call(SeqpacketSocket client, CriuReq.Builder req) throws IOException {
        byte[] bytes = req.build().toByteArray();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
            client.send(m);
            MemorySegment answer = client.receive(a);
            if (answer == null) {
                throw new IOException("the rehearsal's service closed the connection after " + req.getType());
            }
            return CriuResp.parseFrom(CodedInputStream.newInstance(answer.asByteBuffer()));
        }
    }

    private static Fd dir(Path dir) throws IOException {
        Files.createDirectories(dir);
        return Io.open(dir.toString(), Kernel.O_RDONLY | Kernel.O_DIRECTORY | Kernel.O_CLOEXEC);
    }

    private static int uid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }
}
