package dev.cryo.migrate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.migrate.proto.Control;
import dev.cryo.migrate.proto.Hello;
import dev.cryo.migrate.proto.Restore;
import dev.cryo.parasite.Cancellation;

/**
 * A hostile or broken source on the migration server's control port: each gets one line naming the peer and
 * what was wrong, the server ends, and nothing of the migration stays (no restored tree, no cache socket).
 */
class MigrationServerTest {
    @TempDir
    Path dir;

    /** Serves one migration in the background; the hand-made source talks to it on a plain socket. */
    private String failureWith(SourceScript script) throws Exception {
        MigrationServer server = MigrationServer.listen(
                new MigrationServer.Options(InetAddress.getLoopbackAddress(), 0, dir, false, null, false, null), null);
        try (server) {
            CompletableFuture<MigrationServer.Result> served = CompletableFuture.supplyAsync(() -> server.serve(new Cancellation()));
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                script.run(new DataOutputStream(s.getOutputStream()), new DataInputStream(s.getInputStream()));
                s.shutdownOutput(); // the script has said all it says
                try {
                    served.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(MigrationException.class);
                    assertThat(e.getCause().getMessage()).doesNotContain("\n");
                    return e.getCause().getMessage();
                }
            }
        }
        throw new AssertionError("the server took the migration");
    }

    private interface SourceScript {
        void run(DataOutputStream out, DataInputStream in) throws Exception;
    }

    private static void send(DataOutputStream out, Control c) throws Exception {
        byte[] b = c.toByteArray();
        out.writeInt(b.length);
        out.write(b);
        out.flush();
    }

    private static Control receive(DataInputStream in) throws Exception {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return Control.parseFrom(b);
    }

    private static Control hello(int version) {
        return Control.newBuilder().setHello(Hello.newBuilder().setVersion(version).setPid(4242)).build();
    }

    @Test
    void aLengthOutOfBoundsIsRefused() throws Exception {
        String why = failureWith((out, in) -> {
            out.writeInt(0x7fff_0000);
            out.flush();
        });
        assertThat(why).contains("the source at 127.0.0.1:").contains("2147418112 bytes").contains("not cryo's migration protocol");
    }

    @Test
    void bytesThatDoNotParseAreRefused() throws Exception {
        String why = failureWith((out, in) -> {
            out.writeInt(5);
            out.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
            out.flush();
        });
        assertThat(why).contains("malformed control message of 5 bytes");
    }

    @Test
    void anotherVersionIsToldAndRefused() throws Exception {
        Control[] answer = new Control[1];
        String why = failureWith((out, in) -> {
            send(out, hello(7));
            answer[0] = receive(in);
        });
        assertThat(why).contains("version 7");
        assertThat(answer[0].getFailed().getMessage()).contains("version 1 of the protocol, not 7");
    }

    @Test
    void aSnapshotNameWithDotDotIsRefusedAndTheCacheGoes() throws Exception {
        String why = failureWith((out, in) -> {
            send(out, hello(1));
            assertThat(receive(in).getAccepted().getCachePort()).isPositive();
            send(out, Control.newBuilder().setRestore(Restore.newBuilder().setSnapshot("/cryo-migrate/../../etc")).build());
            assertThat(receive(in).getFailed().getMessage()).contains("absolute path");
        });
        assertThat(why).contains("not a plain absolute path: /cryo-migrate/../../etc");
        try (var left = Files.list(dir)) {
            assertThat(left).as("the cache's socket").isEmpty();
        }
    }

    @Test
    void aSourceThatGoesAwayBeforeTheFinalDumpLeavesNothing() throws Exception {
        String why = failureWith((out, in) -> {
            send(out, hello(1));
            receive(in);
        });
        assertThat(why).contains("closed the connection before the final dump");
        try (var left = Files.list(dir)) {
            assertThat(left).isEmpty();
        }
    }
}
