package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.images.proto.SkOptsEntry;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Linger;
import dev.cryo.syscalls.Sockets;
import dev.cryo.syscalls.TimeVal;

/** Puts a socket's SOL_SOCKET options (sk_opts.proto) back, through cryo's duplicate of it, as CRIU does. */
final class SocketOptions {
    private SocketOptions() {}

    /**
     * The buffer sizes first (the kernel doubles what it is given, and getsockopt at dump returned the doubled
     * value: half goes in; the FORCE options pass the system maximum, as CRIU does), then SO_BUF_LOCK, which
     * says whether the task had set them itself (setting them here locked them), then the rest. SO_REUSEADDR
     * and SO_REUSEPORT are the caller's: a socket may need them on until it is bound.
     */
    static void apply(Fd sock, SkOptsEntry o) {
        Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_SNDBUFFORCE, o.getSoSndbuf() / 2);
        Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_RCVBUFFORCE, o.getSoRcvbuf() / 2);
        if (o.hasSoBufLock()) {
            Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_BUF_LOCK, o.getSoBufLock());
        }
        if (o.hasSoPriority()) {
            Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_PRIORITY, o.getSoPriority());
        }
        if (o.hasSoRcvlowat()) {
            Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_RCVLOWAT, o.getSoRcvlowat());
        }
        if (o.hasSoMark()) {
            Sockets.setIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_MARK, o.getSoMark());
        }
        flag(sock, Kernel.SO_PASSCRED, o.getSoPasscred());
        flag(sock, Kernel.SO_PASSSEC, o.getSoPasssec());
        flag(sock, Kernel.SO_DONTROUTE, o.getSoDontroute());
        flag(sock, Kernel.SO_NO_CHECK, o.getSoNoCheck());
        flag(sock, Kernel.SO_BROADCAST, o.getSoBroadcast());
        flag(sock, Kernel.SO_OOBINLINE, o.getSoOobinline() != 0);
        flag(sock, Kernel.SO_KEEPALIVE, o.getSoKeepalive());
        try (Arena a = Arena.ofConfined()) {
            if (o.hasSoLinger()) {
                Sockets.setOption(sock, Kernel.SOL_SOCKET, Kernel.SO_LINGER, new Linger(true, o.getSoLinger()).write(a));
            }
            if (o.getSoSndTmoSec() != 0 || o.getSoSndTmoUsec() != 0) {
                Sockets.setOption(sock, Kernel.SOL_SOCKET, Kernel.SO_SNDTIMEO, timeVal(a, o.getSoSndTmoSec(), o.getSoSndTmoUsec()));
            }
            if (o.getSoRcvTmoSec() != 0 || o.getSoRcvTmoUsec() != 0) {
                Sockets.setOption(sock, Kernel.SOL_SOCKET, Kernel.SO_RCVTIMEO, timeVal(a, o.getSoRcvTmoSec(), o.getSoRcvTmoUsec()));
            }
            if (o.hasSoBoundDev() && !o.getSoBoundDev().isEmpty()) {
                Sockets.setOption(sock, Kernel.SOL_SOCKET, Kernel.SO_BINDTODEVICE, a.allocateFrom(o.getSoBoundDev()));
            }
        }
    }

    /** A yes/no option the task had on; off is every socket's default. */
    private static void flag(Fd sock, int name, boolean on) {
        if (on) {
            Sockets.setIntOption(sock, Kernel.SOL_SOCKET, name, 1);
        }
    }

    private static MemorySegment timeVal(Arena a, long sec, long usec) {
        return new TimeVal(sec, usec).write(a);
    }
}
