package dev.cryo.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.IoVec;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Syscall;
import dev.cryo.syscalls.TcpSocket;

/**
 * How pages get from an off-heap buffer onto a TCP socket, over loopback, to a receiver that drains it into
 * a buffer of its own: {@code send(2)} of the segment (what cryo does), the JDK's {@code SocketChannel.write}
 * of the segment's ByteBuffer, and {@code vmsplice(2)} into a pipe then {@code splice(2)} to the socket. One
 * operation is one write of {@code chunk} KiB.
 *
 * <p>vmsplice is measured, not used: without SPLICE_F_GIFT the pipe, and then the socket, keep references to
 * the buffer's pages until the peer acknowledges them, so a pooled buffer reused at once could send its next
 * contents; with GIFT the buffer is given away. Either way it does not fit buffers that are reused.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
@State(Scope.Benchmark)
public class SocketWriteBench {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Param({"64", "1024"})
    public int chunk;

    private Arena arena;
    private MemorySegment buffer;
    private TcpSocket listening;
    private TcpSocket sender;
    private SocketChannel channel;
    private Io.Pipe pipe;
    private Thread[] drains;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        arena = Arena.ofShared();
        buffer = arena.allocate(chunk * 1024L, 4096);
        buffer.fill((byte) 0x5a);
        listening = TcpSocket.listen(LOOPBACK, 0, 4);
        int port = listening.localPort();
        sender = TcpSocket.connect(LOOPBACK, port);
        TcpSocket fromSender = listening.accept();
        channel = SocketChannel.open(new InetSocketAddress(LOOPBACK, port));
        TcpSocket fromChannel = listening.accept();
        pipe = Io.pipe(0);
        Io.fcntl(pipe.write().fd(), Kernel.F_SETPIPE_SZ, Math.max(chunk * 1024L, 65536));
        drains = new Thread[] {drain(fromSender), drain(fromChannel)};
    }

    /** Reads everything {@code s} receives until the other end closes. */
    private static Thread drain(TcpSocket s) {
        Thread t = new Thread(() -> {
            try (Arena a = Arena.ofConfined(); s) {
                MemorySegment sink = a.allocate(4 << 20, 4096);
                while (s.recv(sink) > 0) {
                    // drained
                }
            }
        }, "drain");
        t.start();
        return t;
    }

    @Benchmark
    public void send() {
        sender.sendFully(buffer);
    }

    @Benchmark
    public void socketChannel() throws Exception {
        ByteBuffer b = buffer.asByteBuffer();
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    @Benchmark
    public void vmspliceSplice() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iov = IoVec.allocateArray(a, 1);
            for (long done = 0; done < buffer.byteSize(); ) {
                IoVec.set(iov, 0, buffer.asSlice(done).address(), buffer.byteSize() - done);
                long in = Syscall.call("vmsplice", Kernel.__NR_vmsplice, pipe.write().fd(), iov.address(), 1, 0);
                for (long out = 0; out < in; ) {
                    out += Io.splice(pipe.read().fd(), sender.fd().fd(), in - out, Kernel.SPLICE_F_MOVE);
                }
                done += in;
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        sender.close();
        channel.close();
        for (Thread t : drains) {
            t.join();
        }
        pipe.close();
        listening.close();
        arena.close();
    }
}
