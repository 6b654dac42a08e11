package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.cryo_tcp_info_head;
import dev.cryo.bindings.tcp_repair_opt;
import dev.cryo.bindings.tcp_repair_window;

/**
 * A TCP socket's state as TCP_REPAIR (Linux 3.5) reads and writes it, for a connection that must survive
 * its process: in repair mode a socket sends nothing and its close is silent (no FIN, no RST); its queues
 * and sequence numbers can be read and written; connect() makes it ESTABLISHED without a handshake. Needs
 * CAP_NET_ADMIN.
 */
public final class Tcp {
    private Tcp() {}

    /** What TCP_INFO tells first: the state, the options negotiated (TCPI_OPT_*) and both window scales. */
    public record Info(int state, int options, int sndWscale, int rcvWscale) {}

    public static Info info(Fd sock) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment head = cryo_tcp_info_head.allocate(a);
            int n = Sockets.getOption(sock, Linux.SOL_TCP(), Linux.TCP_INFO(), head);
            if (n < cryo_tcp_info_head.sizeof()) {
                throw new IllegalStateException("TCP_INFO gave " + n + " bytes");
            }
            int scales = Byte.toUnsignedInt(cryo_tcp_info_head.tcpi_wscales(head));
            return new Info(Byte.toUnsignedInt(cryo_tcp_info_head.tcpi_state(head)),
                    Byte.toUnsignedInt(cryo_tcp_info_head.tcpi_options(head)), scales & 0xf, scales >>> 4);
        }
    }

    /** TCP_REPAIR on (the socket goes quiet) or off (it talks again, sending a window probe when established). */
    public static void repair(Fd sock, boolean on) {
        Sockets.setIntOption(sock, Linux.SOL_TCP(), Linux.TCP_REPAIR(), on ? Linux.TCP_REPAIR_ON() : Linux.TCP_REPAIR_OFF());
    }

    /** Which queue (TCP_RECV_QUEUE, TCP_SEND_QUEUE, TCP_NO_QUEUE) the next repair reads and writes touch. */
    public static void repairQueue(Fd sock, int queue) {
        Sockets.setIntOption(sock, Linux.SOL_TCP(), Linux.TCP_REPAIR_QUEUE(), queue);
    }

    /** TCP_QUEUE_SEQ of the selected queue: rcv_nxt for the receive queue, write_seq for the send queue. */
    public static int queueSeq(Fd sock) {
        return Sockets.getIntOption(sock, Linux.SOL_TCP(), Linux.TCP_QUEUE_SEQ());
    }

    /** Sets the selected queue's first sequence number (before connect, in repair mode). */
    public static void setQueueSeq(Fd sock, int seq) {
        Sockets.setIntOption(sock, Linux.SOL_TCP(), Linux.TCP_QUEUE_SEQ(), seq);
    }

    /** The options the handshake had negotiated, as {code, value} pairs (TCPOPT_*), set on a repaired socket. */
    public static void setRepairOptions(Fd sock, int[][] options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment opts = a.allocate(tcp_repair_opt.layout(), options.length);
            for (int i = 0; i < options.length; i++) {
                MemorySegment o = tcp_repair_opt.asSlice(opts, i);
                tcp_repair_opt.opt_code(o, options[i][0]);
                tcp_repair_opt.opt_val(o, options[i][1]);
            }
            Sockets.setOption(sock, Linux.SOL_TCP(), Linux.TCP_REPAIR_OPTIONS(), opts);
        }
    }

    /** The window state TCP_REPAIR_WINDOW (Linux 4.8) reads and writes. */
    public record Window(int sndWl1, int sndWnd, int maxWindow, int rcvWnd, int rcvWup) {}

    public static Window window(Fd sock) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment w = tcp_repair_window.allocate(a);
            Sockets.getOption(sock, Linux.SOL_TCP(), Linux.TCP_REPAIR_WINDOW(), w);
            return new Window(tcp_repair_window.snd_wl1(w), tcp_repair_window.snd_wnd(w), tcp_repair_window.max_window(w),
                    tcp_repair_window.rcv_wnd(w), tcp_repair_window.rcv_wup(w));
        }
    }

    public static void setWindow(Fd sock, Window win) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment w = tcp_repair_window.allocate(a);
            tcp_repair_window.snd_wl1(w, win.sndWl1());
            tcp_repair_window.snd_wnd(w, win.sndWnd());
            tcp_repair_window.max_window(w, win.maxWindow());
            tcp_repair_window.rcv_wnd(w, win.rcvWnd());
            tcp_repair_window.rcv_wup(w, win.rcvWup());
            Sockets.setOption(sock, Linux.SOL_TCP(), Linux.TCP_REPAIR_WINDOW(), w);
        }
    }

    /** TCP_TIMESTAMP: the socket's timestamp clock (for the timestamps option), read and set in repair mode. */
    public static int timestamp(Fd sock) {
        return Sockets.getIntOption(sock, Linux.SOL_TCP(), Linux.TCP_TIMESTAMP());
    }

    public static void setTimestamp(Fd sock, int ts) {
        Sockets.setIntOption(sock, Linux.SOL_TCP(), Linux.TCP_TIMESTAMP(), ts);
    }

    /** TCP_MAXSEG: in repair mode, the MSS clamp the handshake agreed on. */
    public static int maxSegment(Fd sock) {
        return Sockets.getIntOption(sock, Linux.SOL_TCP(), Linux.TCP_MAXSEG());
    }
}
