package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.bindings.Linux;

/** A unix stream socket at a path: connect, bytes both ways from off-heap memory, the peer's credentials, the ends. */
class UnixStreamSocketTest {
    @TempDir
    Path dir;

    @Test
    void bytesGoBothWaysAndThePeerIsThisProcess() throws Exception {
        String path = dir.resolve("s.sock").toString();
        try (UnixStreamSocket listening = UnixStreamSocket.listen(path, 4); Io.Pipe wake = Io.pipe(Linux.O_CLOEXEC());
             Arena a = Arena.ofShared()) {
            CompletableFuture<UnixStreamSocket> accepted = CompletableFuture.supplyAsync(() -> listening.accept(wake.read()));
            try (UnixStreamSocket client = UnixStreamSocket.connect(path); UnixStreamSocket server = accepted.get(10, TimeUnit.SECONDS)) {
                MemorySegment out = a.allocate(3 << 20, 4096);
                for (long i = 0; i < out.byteSize(); i++) {
                    out.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7));
                }
                CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> client.sendFully(out));
                MemorySegment in = a.allocate(out.byteSize(), 4096);
                assertThat(server.recvFully(in)).isEqualTo(out.byteSize());
                sent.get(10, TimeUnit.SECONDS);
                assertThat(in.mismatch(out)).as("first differing byte").isEqualTo(-1);
                assertThat(server.peer().pid()).isEqualTo(ProcessHandle.current().pid());
                client.close();
                assertThat(server.recv(in)).as("the peer closed").isZero();
            }
        }
    }

    @Test
    void acceptEndsWhenWokenAndShutdownEndsABlockedRecv() throws Exception {
        String path = dir.resolve("w.sock").toString();
        try (UnixStreamSocket listening = UnixStreamSocket.listen(path, 4); Io.Pipe wake = Io.pipe(Linux.O_CLOEXEC());
             Arena a = Arena.ofShared()) {
            Io.writeFully(wake.write().fd(), a.allocate(1));
            assertThat(listening.accept(wake.read())).isNull();
            UnixStreamSocket[] pair = UnixStreamSocket.pair();
            try (UnixStreamSocket x = pair[0]; UnixStreamSocket y = pair[1]) {
                CompletableFuture<Long> blocked = CompletableFuture.supplyAsync(() -> x.recv(a.allocate(16)));
                Thread.sleep(50); // let it block; the outcome is the same if it has not yet
                x.shutdown();
                assertThat(blocked.get(10, TimeUnit.SECONDS)).isZero();
            }
        }
    }

    @Test
    void aTimeoutIsEagainAndNobodyListeningIsRefused() {
        UnixStreamSocket[] pair = UnixStreamSocket.pair();
        try (UnixStreamSocket x = pair[0]; UnixStreamSocket y = pair[1]; Arena a = Arena.ofConfined()) {
            x.timeouts(Duration.ofMillis(100));
            assertThatThrownBy(() -> x.recv(a.allocate(16)))
                    .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.is(Errno.EAGAIN)).isTrue());
        }
        assertThatThrownBy(() -> UnixStreamSocket.connect(dir.resolve("nobody.sock").toString()))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.is(Errno.ENOENT)).isTrue());
    }
}
