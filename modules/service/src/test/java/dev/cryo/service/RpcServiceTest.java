package dev.cryo.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.UnknownFieldSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.service.internal.rpc.CriuFeatures;
import dev.cryo.service.internal.rpc.CriuNetworkLockMethod;
import dev.cryo.service.internal.rpc.CriuPageServerInfo;
import dev.cryo.service.internal.rpc.CriuOpts;
import dev.cryo.service.internal.rpc.CriuPreDumpMode;
import dev.cryo.service.internal.rpc.CriuReq;
import dev.cryo.service.internal.rpc.CriuReqType;
import dev.cryo.service.internal.rpc.CriuResp;
import dev.cryo.service.internal.rpc.CriuVethPair;
import dev.cryo.service.internal.rpc.RpcProto;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.dump.DirtyTracker;
import dev.cryo.syscalls.KernelFeatures;
import dev.cryo.syscalls.Poll;
import dev.cryo.syscalls.SeqpacketSocket;
import dev.cryo.syscalls.Signals;
import dev.cryo.pagexfer.PageServer;
import dev.cryo.syscalls.Kernel;
import dev.cryo.testkit.Target;

/** cryo's RPC service in this JVM, driven by a client that speaks CRIU's RPC over its socket. */
class RpcServiceTest {
    @TempDir
    Path work;

    private RpcService service;
    private Thread serving;
    private final List<Fd> dirs = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        service = RpcService.listen(work.resolve("cryo.sock"), ServiceLog.SILENT, false);
        serving = Thread.ofPlatform().name("test-service").start(service::serve);
    }

    @AfterEach
    void stop() throws InterruptedException {
        service.close();
        serving.join(TimeUnit.SECONDS.toMillis(60));
        dirs.forEach(Fd::close);
    }

    private RpcClient client() {
        return RpcClient.connect(service.address());
    }

    /** An fd of this JVM's, the client, on {@code dir}: what a client passes as images_dir_fd. */
    private int dirFd(Path dir) throws IOException {
        Files.createDirectories(dir);
        Fd fd = Io.open(dir.toString(), Kernel.O_RDONLY | Kernel.O_DIRECTORY | Kernel.O_CLOEXEC);
        dirs.add(fd);
        return fd.fd();
    }

    private static CriuReq request(CriuReqType type, CriuOpts.Builder opts) {
        return CriuReq.newBuilder().setType(type).setOpts(opts).build();
    }

    @Test
    void versionFeatureCheckAndCheckAreAnsweredOnOneConnection() {
        try (RpcClient c = client()) {
            CriuResp version = c.call(RpcClient.request(CriuReqType.VERSION).setKeepOpen(true).build());
            CriuResp features = c.call(RpcClient.request(CriuReqType.FEATURE_CHECK).setKeepOpen(true)
                    .setFeatures(CriuFeatures.newBuilder().setMemTrack(true).setLazyPages(true)).build());
            CriuResp check = c.call(RpcClient.request(CriuReqType.CHECK).build());

            assertThat(version.getSuccess()).isTrue();
            assertThat(version.getType()).isEqualTo(CriuReqType.VERSION);
            assertThat(version.getVersion().getMajorNumber()).isEqualTo(4);
            assertThat(version.getVersion().getMinorNumber()).isEqualTo(2);
            assertThat(version.getVersion().getName()).startsWith("cryo ");
            assertThat(features.getSuccess()).isTrue();
            assertThat(features.getFeatures().getMemTrack())
                    .isEqualTo(DirtyTracker.here().isPresent());
            assertThat(features.getFeatures().getLazyPages()).isFalse();
            boolean kernelHasAll = Arrays.stream(KernelFeatures.Feature.values()).allMatch(f -> !f.required() || KernelFeatures.has(f));
            assertThat(check.getSuccess()).isEqualTo(kernelHasAll);
            assertThat(c.receive()).as("the connection after a request without keep_open").isNull();
        }
    }

    @Test
    void optionsCryoDoesNotServeAreRefusedByNameAndTheTreeIsNotTouched() throws Exception {
        Path images = work.resolve("img");
        try (Target target = Target.start("rst_tree", work.resolve("t"), "8", "1"); RpcClient c = client()) {
            CriuResp r = c.call(request(CriuReqType.DUMP, CriuOpts.newBuilder().setImagesDirFd(dirFd(images))
                    .setPid(target.pid()).setNetworkLock(CriuNetworkLockMethod.IPTABLES).setExtUnixSk(false).setRoot("/")
                    .addVeths(CriuVethPair.newBuilder().setIfIn("a").setIfOut("b"))
                    .setPs(CriuPageServerInfo.newBuilder().setFd(3))));

            assertThat(r.getSuccess()).isFalse();
            assertThat(r.getType()).isEqualTo(CriuReqType.DUMP);
            assertThat(r.getCrErrno()).isEqualTo(Kernel.EBADRQC);
            assertThat(r.getCrErrmsg()).isEqualTo("cryo does not support opts.root, opts.veths, opts.network_lock, opts.ps.fd");
            assertThat(list(images)).isEmpty();
            assertThat(tracer(target.pid())).isZero();
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    /**
     * What the sockets and page-server work brought is served: a dump with the network options and {@code ps},
     * its pages sent to a page server, which writes them where restore finds them with the dump's images.
     */
    @Test
    void aDumpToAPageServerWithTheNetworkOptionsIsServed() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        Path served = Files.createDirectories(work.resolve("served"));
        try (Target target = Target.start("rst_tree", work.resolve("t"), "8", "1"); RpcClient c = client();
             PageServer server = PageServer.listen(new PageServer.Options(served, InetAddress.getLoopbackAddress(), 0, null, null))) {
            Thread serving = Thread.ofPlatform().start(server::serve);
            CriuResp r = c.call(request(CriuReqType.DUMP, CriuOpts.newBuilder().setImagesDirFd(dirFd(images))
                    .setPid(target.pid()).setLeaveRunning(true).setTcpEstablished(true).setTcpClose(false).setExtUnixSk(true)
                    .setNetworkLock(CriuNetworkLockMethod.NFTABLES)
                    .setPs(CriuPageServerInfo.newBuilder().setAddress("127.0.0.1").setPort(server.port()))));
            serving.join(60_000);

            assertThat(r.getSuccess()).as(r.getCrErrmsg()).isTrue();
            assertThat(list(images)).contains("inventory.img").noneMatch(n -> n.startsWith("pages-"));
            assertThat(list(served)).anyMatch(n -> n.startsWith("pages-")).anyMatch(n -> n.startsWith("pagemap-"));
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aFieldUnknownToCryoIsRefusedByItsNumber() throws Exception {
        CriuOpts opts = CriuOpts.newBuilder().setImagesDirFd(dirFd(work.resolve("img"))).setPid(1)
                .setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(200, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build())
                .build();
        try (RpcClient c = client()) {
            CriuResp r = c.call(CriuReq.newBuilder().setType(CriuReqType.PRE_DUMP).setOpts(opts).build());

            assertThat(r.getSuccess()).isFalse();
            assertThat(r.getCrErrmsg()).isEqualTo("cryo does not support opts.field 200 (unknown to cryo)");
        }
    }

    @Test
    void requestsCryoDoesNotServeAreRefusedByTheirType() {
        for (CriuReqType type : List.of(CriuReqType.PAGE_SERVER, CriuReqType.PAGE_SERVER_CHLD, CriuReqType.WAIT_PID,
                CriuReqType.CPUINFO_DUMP)) {
            try (RpcClient c = client()) {
                CriuResp r = c.call(RpcClient.request(type).build());

                assertThat(r.getSuccess()).isFalse();
                assertThat(r.getType()).isEqualTo(type);
                assertThat(r.getCrErrno()).isEqualTo(Kernel.EOPNOTSUPP);
                assertThat(r.getCrErrmsg()).isEqualTo("cryo's service does not serve " + type + " requests");
            }
        }
    }

    @Test
    void whatIsNotARequestIsAnsweredOnceAndTheConnectionClosed() {
        try (RpcClient c = client()) {
            c.sendBytes(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01});
            CriuResp r = c.receive();

            assertThat(r.getType()).isEqualTo(CriuReqType.EMPTY);
            assertThat(r.getSuccess()).isFalse();
            assertThat(r.getCrErrmsg()).startsWith("not a criu_req message: ");
            assertThat(c.receive()).isNull();
        }
        try (RpcClient c = client()) {
            c.sendBytes(new byte[] {0x08, 0x63}); // type = 99
            assertThat(c.receive().getCrErrmsg()).isEqualTo("request type 99 is not known to cryo");
        }
    }

    @Test
    void aDumpWithoutPidOrImagesDirIsRefused() throws Exception {
        try (RpcClient c = client()) {
            CriuResp noPid = c.call(request(CriuReqType.DUMP, CriuOpts.newBuilder().setImagesDirFd(dirFd(work.resolve("i")))));
            assertThat(noPid.getCrErrmsg()).isEqualTo("opts.pid is not set: cryo's service does not dump the client itself");
        }
        try (RpcClient c = client()) {
            CriuResp noDir = c.call(request(CriuReqType.DUMP, CriuOpts.newBuilder().setPid(1).setImagesDirFd(-1)));
            assertThat(noDir.getCrErrmsg()).isEqualTo("the request names no images directory (images_dir_fd or images_dir)");
            assertThat(noDir.getCrErrno()).isEqualTo(Kernel.EBADRQC);
        }
        try (RpcClient c = client()) {
            CriuResp badFd = c.call(request(CriuReqType.DUMP, CriuOpts.newBuilder().setPid(1).setImagesDirFd(9999)));
            assertThat(badFd.getCrErrmsg()).startsWith("images_dir_fd 9999 of pid " + ProcessHandle.current().pid() + " is not an open fd");
        }
    }

    /**
     * CRIU's iterative migration on one connection: PRE_DUMP keeps the connection for the next step (no
     * keep_open needed), two pre-dumps (splice, then read mode on top), the final DUMP on top of them,
     * then a RESTORE on a connection of its own: the tree comes back with its pid and its memory.
     */
    @Test
    void preDumpsThenDumpOnOneConnectionThenRestore() throws Exception {
        Path dir = work.resolve("t");
        List<Integer> restored = new ArrayList<>();
        try (Target target = Target.start("rst_tree", dir, "16", "1")) {
            int pid = target.pid();
            try (RpcClient c = client()) {
                CriuResp pre1 = c.call(request(CriuReqType.PRE_DUMP, CriuOpts.newBuilder().setPid(pid)
                        .setImagesDirFd(dirFd(work.resolve("pre1")))));
                CriuResp pre2 = c.call(request(CriuReqType.PRE_DUMP, CriuOpts.newBuilder().setPid(pid)
                        .setImagesDirFd(dirFd(work.resolve("pre2"))).setParentImg("../pre1").setPreDumpMode(CriuPreDumpMode.VM_READ)));
                CriuResp dump = c.call(request(CriuReqType.DUMP, CriuOpts.newBuilder().setPid(pid)
                        .setImagesDirFd(dirFd(work.resolve("dump"))).setParentImg("../pre2").setTrackMem(true)
                        .setLogFile("dump.log").setLogLevel(3)));

                assertThat(pre1.getSuccess()).as(pre1.getCrErrmsg()).isTrue();
                assertThat(pre1.getType()).isEqualTo(CriuReqType.PRE_DUMP);
                assertThat(pre2.getSuccess()).as(pre2.getCrErrmsg()).isTrue();
                assertThat(dump.getSuccess()).as(dump.getCrErrmsg()).isTrue();
                assertThat(dump.getDump().getRestored()).isFalse();
                assertThat(c.receive()).as("the connection after the DUMP").isNull();
            }
            assertThat(Files.readString(work.resolve("dump/dump.log"))).contains("frozen time:", "pages skipped:");
            assertThat(Files.readSymbolicLink(work.resolve("dump/parent"))).isEqualTo(Path.of("../pre2"));
            // every process of it reaped by the target's nanny: a zombie still holds its pid, which the restore needs
            assertThat(target.awaitExit(30)).as("the dumped tree is gone").isTrue();

            try (RpcClient c = client()) {
                CriuResp r = c.call(request(CriuReqType.RESTORE, CriuOpts.newBuilder().setImagesDirFd(dirFd(work.resolve("dump")))));
                assertThat(r.getSuccess()).as(r.getCrErrmsg()).isTrue();
                restored.add(r.getRestore().getPid());
                for (String p : Files.readString(dir.resolve("family")).trim().split(" ")) {
                    restored.add(Integer.parseInt(p));
                }
                assertThat(r.getRestore().getPid()).isEqualTo(pid);
                assertThat(target.check()).isEqualTo("PASS");
            }
        } finally {
            for (int p : restored) {
                if (Signals.exists(p)) {
                    Signals.kill(p, Kernel.SIGKILL);
                }
            }
        }
    }

    /** A client that hangs up while its dump writes pages cancels it: the tree runs on, released, and the directory is empty. */
    @Test
    void aClientThatHangsUpMidDumpCancelsTheDump() throws Exception {
        Path images = work.resolve("img");
        try (Target target = Target.start("rst_tree", work.resolve("t"), "1024", "1")) {
            RpcClient c = client();
            c.send(request(CriuReqType.DUMP, CriuOpts.newBuilder().setPid(target.pid()).setImagesDirFd(dirFd(images))));
            await("a pages image is being written", () -> writingPages(images));
            c.close();

            await("the dump has unwound and left the directory empty", () -> list(images).isEmpty());
            await("nobody traces the target", () -> tracer(target.pid()) == 0);
            assertThat(target.check()).isEqualTo("PASS");
            try (RpcClient again = client()) {
                assertThat(again.call(RpcClient.request(CriuReqType.VERSION).build()).getSuccess()).isTrue();
            }
        }
    }

    /** While one client's dump runs, another connection is answered at once. */
    @Test
    void anotherClientIsAnsweredWhileADumpRuns() throws Exception {
        Path images = work.resolve("img");
        try (Target target = Target.start("rst_tree", work.resolve("t"), "1024", "1"); RpcClient dumping = client()) {
            dumping.send(request(CriuReqType.DUMP, CriuOpts.newBuilder().setPid(target.pid()).setImagesDirFd(dirFd(images))
                    .setLeaveRunning(true)));
            await("a pages image is being written", () -> writingPages(images));
            try (RpcClient other = client()) {
                assertThat(other.call(RpcClient.request(CriuReqType.VERSION).build()).getSuccess()).isTrue();
            }
            short[] answered = Poll.poll(new int[] {dumping.socket().fd()}, new short[] {(short) Kernel.POLLIN}, 0);
            assertThat(answered[0]).as("the dump answered before the VERSION").isZero();

            CriuResp r = dumping.receive();
            assertThat(r.getSuccess()).as(r.getCrErrmsg()).isTrue();
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aServedAddressIsRefusedAndAStaleSocketReplaced() throws Exception {
        assertThatThrownBy(() -> RpcService.listen(service.address(), ServiceLog.SILENT, false))
                .hasMessage("cannot listen at " + service.address() + ": another service listens there");

        Path stale = work.resolve("stale.sock");
        SeqpacketSocket.listen(stale.toString(), 1).close(); // a killed service's socket file: nobody listens
        try (RpcService second = RpcService.listen(stale, ServiceLog.SILENT, false)) {
            Thread t = Thread.ofPlatform().start(second::serve);
            try (RpcClient c = RpcClient.connect(stale)) {
                assertThat(c.call(RpcClient.request(CriuReqType.VERSION).build()).getSuccess()).isTrue();
            }
            second.close();
            t.join();
        }
        assertThat(stale).doesNotExist();
        Path file = Files.writeString(work.resolve("plain"), "x");
        assertThatThrownBy(() -> RpcService.listen(file, ServiceLog.SILENT, false))
                .hasMessage("cannot listen at " + file + ": the file exists and is not a socket");
    }

    @Test
    void closeRemovesTheSocketFile() throws Exception {
        assertThat(Files.getAttribute(service.address(), "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(0140600);
        service.close();
        serving.join();
        assertThat(service.address()).doesNotExist();
    }

    /** swrk: one client on a socket it was handed; the service ends when the client's last request is answered. */
    @Test
    void swrkServesTheClientAtTheOtherEndOfItsFd() throws Exception {
        SeqpacketSocket[] pair = SeqpacketSocket.pair();
        RpcConnection connection = RpcConnection.adopt(pair[1].fd(), ServiceLog.SILENT, false); // owns and closes the fd now
        Thread swrk = Thread.ofPlatform().start(connection::serve);
        try (RpcClient c = new RpcClient(pair[0])) {
            assertThat(c.call(RpcClient.request(CriuReqType.VERSION).setKeepOpen(true).build()).getSuccess()).isTrue();
            assertThat(c.call(RpcClient.request(CriuReqType.FEATURE_CHECK).build()).getType()).isEqualTo(CriuReqType.FEATURE_CHECK);
            assertThat(c.receive()).isNull();
        }
        swrk.join(TimeUnit.SECONDS.toMillis(20));
        assertThat(swrk.isAlive()).isFalse();

        try (Io.Pipe p = Io.pipe(Kernel.O_CLOEXEC)) {
            int notASocket = p.read().fd();
            assertThatThrownBy(() -> RpcConnection.adopt(notASocket, ServiceLog.SILENT, false))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("fd " + notASocket + " is not a socket");
        }
    }

    /** Closing a swrk connection (cryo swrk's SIGTERM) cancels its dump: the client hears so, the tree runs on untouched. */
    @Test
    void closingASwrkConnectionCancelsItsDumpAndTheClientHearsSo() throws Exception {
        Path images = work.resolve("img");
        SeqpacketSocket[] pair = SeqpacketSocket.pair();
        RpcConnection connection = RpcConnection.adopt(pair[1].fd(), ServiceLog.SILENT, false);
        Thread swrk = Thread.ofPlatform().start(connection::serve);
        try (Target target = Target.start("rst_tree", work.resolve("t"), "1024", "1"); RpcClient c = new RpcClient(pair[0])) {
            c.send(request(CriuReqType.DUMP, CriuOpts.newBuilder().setPid(target.pid()).setImagesDirFd(dirFd(images))));
            await("a pages image is being written", () -> writingPages(images));
            connection.close();

            CriuResp r = c.receive();
            assertThat(r.getSuccess()).isFalse();
            assertThat(r.getCrErrno()).isEqualTo(Kernel.ECANCELED);
            assertThat(r.getCrErrmsg()).isEqualTo("cannot dump pid " + target.pid() + ": dump cancelled: cryo is stopping; pid "
                    + target.pid() + " was released");
            assertThat(c.receive()).isNull();
            assertThat(list(images)).isEmpty();
            assertThat(tracer(target.pid())).isZero();
            assertThat(target.check()).isEqualTo("PASS");
        }
        swrk.join(TimeUnit.SECONDS.toMillis(20));
        assertThat(swrk.isAlive()).isFalse();
    }

    /** A client of another user is refused, even where the socket file lets it in. */
    @Test
    void aClientOfAnotherUserIsRefused() throws Exception {
        // a directory that user 65534 may pass through (the test's own is 0700), holding a socket anyone may open
        Path open = Files.createTempDirectory("cryo-rpc-test-");
        Files.setPosixFilePermissions(open, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        try (RpcService shared = RpcService.listen(open.resolve("s.sock"), ServiceLog.SILENT, false)) {
            Thread t = Thread.ofPlatform().start(shared::serve);
            Files.setPosixFilePermissions(shared.address(), java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
            String script = "import socket, sys\n"
                    + "sys.path.insert(0, '/usr/lib/python3/dist-packages')\n"
                    + "from pycriu import rpc_pb2\n"
                    + "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
                    + "s.connect(sys.argv[1])\n"
                    + "r = rpc_pb2.criu_req(); r.type = rpc_pb2.VERSION\n"
                    + "s.send(r.SerializeToString())\n"
                    + "a = rpc_pb2.criu_resp(); a.ParseFromString(s.recv(4096))\n"
                    + "print(a.success, a.cr_errno, a.cr_errmsg)\n";
            Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                    script, shared.address().toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            shared.close();
            t.join();

            assertThat(out).isEqualTo("False " + Kernel.EPERM + " uid 65534 may not use this service (it serves root)");
        } finally {
            Files.deleteIfExists(open.resolve("s.sock"));
            Files.delete(open);
        }
    }

    /** rpc.proto has pycriu's field numbers, names, labels, types and defaults (Debian's criu package is the judge). */
    @Test
    void rpcProtoMatchesPycriusDescriptor() throws Exception {
        Path descriptors = work.resolve("rpc.pb");
        Files.write(descriptors, FileDescriptorSet.newBuilder().addFile(RpcProto.getDescriptor().toProto()).build().toByteArray());
        Path script = work.resolve("compare.py");
        try (InputStream in = getClass().getResourceAsStream("compare_rpc_with_pycriu.py")) {
            Files.copy(in, script);
        }
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), descriptors.toString()).redirectErrorStream(true).start();
        String report = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(report).contains("compared 15 messages and 4 enums, 0 differences");
    }

    private static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of("(cannot list: " + e + ")");
        }
    }

    private static boolean writingPages(Path images) {
        return list(images).stream().anyMatch(n -> n.startsWith(".pages-") && n.endsWith(".tmp"));
    }

    private static int tracer(int pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("TracerPid:")) {
                    return Integer.parseInt(line.substring(10).trim());
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return 0;
    }

    private static void await(String what, BooleanSupplier event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!event.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what + " within 60 s").isLessThan(deadline);
            Thread.sleep(2);
        }
    }
}
