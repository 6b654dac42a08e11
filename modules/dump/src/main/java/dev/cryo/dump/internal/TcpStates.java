package dev.cryo.dump.internal;

import dev.cryo.syscalls.Kernel;

/** TCP states by name (netinet/tcp.h), for messages. */
final class TcpStates {
    private TcpStates() {}

    static String name(int state) {
        if (state == Kernel.TCP_ESTABLISHED) return "ESTABLISHED";
        if (state == Kernel.TCP_SYN_SENT) return "SYN_SENT";
        if (state == Kernel.TCP_SYN_RECV) return "SYN_RECV";
        if (state == Kernel.TCP_FIN_WAIT1) return "FIN_WAIT1";
        if (state == Kernel.TCP_FIN_WAIT2) return "FIN_WAIT2";
        if (state == Kernel.TCP_TIME_WAIT) return "TIME_WAIT";
        if (state == Kernel.TCP_CLOSE) return "CLOSE";
        if (state == Kernel.TCP_CLOSE_WAIT) return "CLOSE_WAIT";
        if (state == Kernel.TCP_LAST_ACK) return "LAST_ACK";
        if (state == Kernel.TCP_LISTEN) return "LISTEN";
        if (state == Kernel.TCP_CLOSING) return "CLOSING";
        return Integer.toString(state);
    }
}
