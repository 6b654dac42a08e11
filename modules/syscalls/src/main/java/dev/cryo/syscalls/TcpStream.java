package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.bindings.Linux;

/**
 * An established TCP connection taken out of its socket and put into another, as CRIU's libsoccr does it with
 * TCP_REPAIR: {@link #save} reads, from a socket in repair mode, the sequence numbers at both ends of both
 * queues, the bytes in them, the options the handshake negotiated and the window; {@link #rebuild} makes a
 * fresh socket (in repair mode) that connection, without a packet sent; {@link #resume} lets it talk again.
 *
 * <pre>
 *   send queue:    snd_una ... sent, unacknowledged ... | ... not sent yet ... write_seq (= outqSeq)
 *   receive queue: copied_seq ... received, not read yet ... rcv_nxt (= inqSeq)
 * </pre>
 */
public final class TcpStream {
    private TcpStream() {}

    /**
     * A connection's state: {@code inq} the bytes received and not read, ending at sequence {@code inqSeq};
     * {@code outq} the bytes written and not acknowledged, ending at {@code outqSeq}, of which the last
     * {@code unsent} were never sent; the options (TCPI_OPT_* in {@code options}), the MSS clamp, the window
     * scales, the timestamp clock; the window ({@code window}, null when the kernel lacks TCP_REPAIR_WINDOW).
     */
    public record State(int tcpState, int inqSeq, MemorySegment inq, int outqSeq, MemorySegment outq, int unsent,
                        int mssClamp, int options, int sndWscale, int rcvWscale, int timestamp, Tcp.Window window) {}

    /** Reads the state of {@code sock}, which must be in repair mode; the queues' bytes land in {@code arena}. */
    public static State save(Fd sock, Arena arena) {
        Tcp.Info info = Tcp.info(sock);
        int outq = Sockets.ioctlInt(sock, "SIOCOUTQ", Linux.SIOCOUTQ());
        int unsent = Sockets.ioctlInt(sock, "SIOCOUTQNSD", Linux.SIOCOUTQNSD());
        int inq = Sockets.ioctlInt(sock, "SIOCINQ", Linux.SIOCINQ());
        int mss = Tcp.maxSegment(sock);
        int ts = (info.options() & Linux.TCPI_OPT_TIMESTAMPS()) != 0 ? Tcp.timestamp(sock) : 0;
        Tcp.Window window;
        try {
            window = Tcp.window(sock);
        } catch (ErrnoException e) {
            if (!e.is(Errno.ENOPROTOOPT)) {
                throw e;
            }
            window = null; // before Linux 4.8
        }
        Tcp.repairQueue(sock, Linux.TCP_RECV_QUEUE());
        int inqSeq = Tcp.queueSeq(sock);
        MemorySegment in = peekQueue(sock, inq, arena, "receive");
        Tcp.repairQueue(sock, Linux.TCP_SEND_QUEUE());
        int outqSeq = Tcp.queueSeq(sock);
        MemorySegment out = peekQueue(sock, outq, arena, "send");
        Tcp.repairQueue(sock, Linux.TCP_NO_QUEUE());
        return new State(info.state(), inqSeq, in, outqSeq, out, unsent, mss, info.options(), info.sndWscale(),
                info.rcvWscale(), ts, window);
    }

    /** The {@code len} bytes of the selected queue, peeked (one byte more is asked for, to be sure there are no more). */
    private static MemorySegment peekQueue(Fd sock, int len, Arena arena, String which) {
        MemorySegment buf = arena.allocate(len + 1L);
        long n = len == 0 ? 0 : Sockets.peek(sock, buf);
        if (n != len) {
            throw new IllegalStateException("the " + which + " queue holds " + n + " bytes, not the " + len + " its size says");
        }
        return buf.asSlice(0, len);
    }

    /**
     * Makes {@code sock}, a fresh TCP socket in repair mode, the connection {@code s} from {@code local} to
     * {@code remote} (sockaddrs): bound, connected without a handshake, its options, queues and window as
     * saved. The bytes that were never sent wait for {@link #resume}.
     */
    public static void rebuild(Fd sock, State s, MemorySegment local, MemorySegment remote) {
        if (s.tcpState() != Linux.TCP_ESTABLISHED()) {
            throw new IllegalArgumentException("a TCP connection in state " + s.tcpState() + " (only established ones are rebuilt)");
        }
        Sockets.bind(sock, local);
        Tcp.repairQueue(sock, Linux.TCP_RECV_QUEUE());
        Tcp.setQueueSeq(sock, s.inqSeq() - (int) s.inq().byteSize());
        Tcp.repairQueue(sock, Linux.TCP_SEND_QUEUE());
        Tcp.setQueueSeq(sock, s.outqSeq() - (int) s.outq().byteSize());
        Tcp.repairQueue(sock, Linux.TCP_NO_QUEUE());
        Sockets.connect(sock, remote);
        List<int[]> opts = new ArrayList<>();
        if ((s.options() & Linux.TCPI_OPT_SACK()) != 0) {
            opts.add(new int[] {Linux.TCPOPT_SACK_PERMITTED(), 0});
        }
        if ((s.options() & Linux.TCPI_OPT_WSCALE()) != 0) {
            opts.add(new int[] {Linux.TCPOPT_WINDOW(), s.sndWscale() | (s.rcvWscale() << 16)});
        }
        if ((s.options() & Linux.TCPI_OPT_TIMESTAMPS()) != 0) {
            opts.add(new int[] {Linux.TCPOPT_TIMESTAMP(), 0});
        }
        opts.add(new int[] {Linux.TCPOPT_MAXSEG(), s.mssClamp()});
        Tcp.setRepairOptions(sock, opts.toArray(int[][]::new));
        if ((s.options() & Linux.TCPI_OPT_TIMESTAMPS()) != 0) {
            Tcp.setTimestamp(sock, s.timestamp());
        }
        Tcp.repairQueue(sock, Linux.TCP_RECV_QUEUE());
        sendAll(sock, s.inq(), "receive");
        Tcp.repairQueue(sock, Linux.TCP_SEND_QUEUE());
        sendAll(sock, s.outq().asSlice(0, s.outq().byteSize() - s.unsent()), "send");
        Tcp.repairQueue(sock, Linux.TCP_NO_QUEUE());
        if (s.window() != null) {
            Tcp.setWindow(sock, s.window());
        }
    }

    /**
     * Repair off: the connection talks again (the kernel sends a window probe, which the peer answers); then
     * the bytes that were never sent go out as any write does.
     */
    public static void resume(Fd sock, State s) {
        Tcp.repair(sock, false);
        if (s.unsent() > 0) {
            MemorySegment unsent = s.outq().asSlice(s.outq().byteSize() - s.unsent());
            long n = Sockets.sendNow(sock, unsent);
            if (n != unsent.byteSize()) {
                throw new IllegalStateException("sent " + n + " of the " + unsent.byteSize() + " bytes not sent before the dump");
            }
        }
    }

    /**
     * Writes {@code data} into the selected queue. In repair mode the kernel puts each write in one buffer of
     * its size, and refuses one too big to allocate (ENOMEM): the chunk is halved then, as libsoccr does.
     */
    private static void sendAll(Fd sock, MemorySegment data, String which) {
        long chunk = Math.max(data.byteSize(), 1);
        for (long at = 0; at < data.byteSize(); ) {
            MemorySegment piece = data.asSlice(at, Math.min(chunk, data.byteSize() - at));
            try {
                at += Sockets.send(sock, piece, new int[0], 0);
            } catch (ErrnoException e) {
                if (!e.is(Errno.ENOMEM) || chunk <= 1024) {
                    throw new IllegalStateException("cannot refill the " + which + " queue: " + e.getMessage(), e);
                }
                chunk /= 2;
            }
        }
    }
}
