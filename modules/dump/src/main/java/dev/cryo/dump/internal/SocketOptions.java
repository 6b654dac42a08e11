package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.images.proto.SkOptsEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Linger;
import dev.cryo.syscalls.Sockets;
import dev.cryo.syscalls.TimeVal;

/** The SOL_SOCKET options every socket has (sk_opts.proto), read through cryo's duplicate of it, as CRIU reads them. */
final class SocketOptions {
    private SocketOptions() {}

    static SkOptsEntry read(Fd sock, int family) {
        SkOptsEntry.Builder o = SkOptsEntry.newBuilder()
                .setSoSndbuf(option(sock, Kernel.SO_SNDBUF))
                .setSoRcvbuf(option(sock, Kernel.SO_RCVBUF))
                .setSoPriority(option(sock, Kernel.SO_PRIORITY))
                .setSoRcvlowat(option(sock, Kernel.SO_RCVLOWAT))
                .setReuseaddr(option(sock, Kernel.SO_REUSEADDR) != 0)
                .setSoReuseport(option(sock, Kernel.SO_REUSEPORT) != 0)
                .setSoDontroute(option(sock, Kernel.SO_DONTROUTE) != 0)
                .setSoNoCheck(option(sock, Kernel.SO_NO_CHECK) != 0)
                .setSoBroadcast(option(sock, Kernel.SO_BROADCAST) != 0)
                .setSoKeepalive(option(sock, Kernel.SO_KEEPALIVE) != 0)
                .setSoOobinline(option(sock, Kernel.SO_OOBINLINE) != 0 ? 1 : 0)
                .setSoBufLock(option(sock, Kernel.SO_BUF_LOCK));
        int mark = option(sock, Kernel.SO_MARK);
        if (mark != 0) {
            o.setSoMark(mark); // setting it back needs CAP_NET_ADMIN: only when it is not the default
        }
        if (family == Kernel.AF_UNIX) {
            o.setSoPasscred(option(sock, Kernel.SO_PASSCRED) != 0).setSoPasssec(option(sock, Kernel.SO_PASSSEC) != 0);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tv = TimeVal.allocate(a);
            Sockets.getOption(sock, Kernel.SOL_SOCKET, Kernel.SO_SNDTIMEO, tv);
            TimeVal snd = TimeVal.read(tv);
            o.setSoSndTmoSec(snd.sec()).setSoSndTmoUsec(snd.usec());
            Sockets.getOption(sock, Kernel.SOL_SOCKET, Kernel.SO_RCVTIMEO, tv);
            TimeVal rcv = TimeVal.read(tv);
            o.setSoRcvTmoSec(rcv.sec()).setSoRcvTmoUsec(rcv.usec());
            MemorySegment l = Linger.allocate(a);
            Sockets.getOption(sock, Kernel.SOL_SOCKET, Kernel.SO_LINGER, l);
            Linger lingering = Linger.read(l);
            if (lingering.on()) {
                o.setSoLinger(lingering.seconds());
            }
            MemorySegment dev = a.allocate(32);
            int n = Sockets.getOption(sock, Kernel.SOL_SOCKET, Kernel.SO_BINDTODEVICE, dev);
            if (n > 0) {
                o.setSoBoundDev(dev.getString(0));
            }
        }
        return o.build();
    }

    /** An int option of SOL_SOCKET; one the kernel lacks (SO_BUF_LOCK before 5.14) reads as 0. */
    private static int option(Fd sock, int name) {
        try {
            return Sockets.getIntOption(sock, Kernel.SOL_SOCKET, name);
        } catch (ErrnoException e) {
            if (e.is(dev.cryo.syscalls.Errno.ENOPROTOOPT)) {
                return 0;
            }
            throw e;
        }
    }
}
