package dev.cryo.dump.internal;

import java.lang.foreign.Arena;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.Sockets;

/**
 * A socket: its family (SO_DOMAIN, on cryo's duplicate of it) picks the dumper; a family cryo cannot dump
 * is refused by name.
 */
record SocketDumper(Arena arena, SocketTable sockets) implements FileDumper {
    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        int family;
        try (Fd sock = Pidfd.getFd(fd.pidfd(), fd.fd())) {
            family = Sockets.getIntOption(sock, Kernel.SOL_SOCKET, Kernel.SO_DOMAIN);
        } catch (ErrnoException x) {
            throw new DumpException("cannot dump " + fd.where() + " (" + fd.link() + "): " + x.getMessage(), x);
        }
        if (family == Kernel.AF_UNIX) {
            new UnixSocketDumper(arena, sockets).dump(fd, e, files);
        } else if (family == Kernel.AF_INET || family == Kernel.AF_INET6) {
            new InetSocketDumper(arena, sockets).dump(fd, e, files);
        } else {
            throw new DumpException("cannot dump " + fd.where() + ": it is " + kind(family) + " (" + fd.link()
                    + "), which cryo cannot dump yet");
        }
    }

    private static String kind(int family) {
        if (family == Kernel.AF_NETLINK) {
            return "a netlink socket";
        }
        if (family == Kernel.AF_PACKET) {
            return "a packet socket";
        }
        return "a socket of family " + family;
    }
}
