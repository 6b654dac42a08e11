package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.sockaddr;
import dev.cryo.bindings.sockaddr_in;
import dev.cryo.bindings.sockaddr_in6;
import dev.cryo.bindings.sockaddr_un;

/**
 * Socket addresses as the kernel takes them (sockaddr_un, sockaddr_in, sockaddr_in6), each segment exactly the
 * length to pass with it, and as people read them.
 */
public final class SocketAddress {
    private SocketAddress() {}

    /**
     * A sockaddr_un for {@code name}, the raw sun_path: a path (no NUL needed) or, starting with a NUL byte,
     * an abstract name. The segment's size is the address length to pass.
     */
    public static MemorySegment unix(Arena arena, byte[] name) {
        long max = sockaddr_un.sun_path$layout().byteSize();
        if (name.length == 0 || name.length > max) {
            throw new IllegalArgumentException("a unix socket name of " + name.length + " bytes (1 to " + max + ")");
        }
        MemorySegment sa = sockaddr_un.allocate(arena);
        sockaddr_un.sun_family(sa, (short) Linux.AF_UNIX());
        MemorySegment.copy(name, 0, sa, ValueLayout.JAVA_BYTE, sockaddr_un.sun_path$offset(), name.length);
        return sa.asSlice(0, sockaddr_un.sun_path$offset() + name.length);
    }

    /** A sockaddr_in or sockaddr_in6 for {@code addr} (4 or 16 bytes, network order) and {@code port}. */
    public static MemorySegment inet(Arena arena, int family, byte[] addr, int port) {
        short be = Short.reverseBytes((short) port);
        if (family == Linux.AF_INET()) {
            MemorySegment sa = sockaddr_in.allocate(arena);
            sockaddr_in.sin_family(sa, (short) family);
            sockaddr_in.sin_port(sa, be);
            MemorySegment.copy(addr, 0, sockaddr_in.sin_addr(sa), ValueLayout.JAVA_BYTE, 0, 4);
            return sa;
        }
        if (family == Linux.AF_INET6()) {
            MemorySegment sa = sockaddr_in6.allocate(arena);
            sockaddr_in6.sin6_family(sa, (short) family);
            sockaddr_in6.sin6_port(sa, be);
            MemorySegment.copy(addr, 0, sockaddr_in6.sin6_addr(sa), ValueLayout.JAVA_BYTE, 0, 16);
            return sa;
        }
        throw new IllegalArgumentException("not an inet family: " + family);
    }

    /** An address of family AF_UNSPEC, which connect(2) takes to dissolve a datagram socket's association. */
    public static MemorySegment unspecified(Arena arena) {
        MemorySegment sa = sockaddr.allocate(arena);
        sockaddr.sa_family(sa, (short) Linux.AF_UNSPEC());
        return sa.asSlice(0, sockaddr.sa_family$layout().byteSize());
    }

    /** Where the address lies in a sockaddr_in (AF_INET) or sockaddr_in6 (AF_INET6). */
    public static int inetAddressOffset(int family) {
        return (int) (family == Linux.AF_INET6() ? sockaddr_in6.sin6_addr$offset() : sockaddr_in.sin_addr$offset());
    }

    /** Where the port (network order) lies in a sockaddr_in or sockaddr_in6: the same place in both. */
    public static final int INET_PORT_OFFSET = (int) sockaddr_in.sin_port$offset();

    /** A unix name as ss(8) shows it: the path, or {@code @name} for an abstract one; "" for none. */
    public static String displayUnix(byte[] name) {
        if (name.length == 0) {
            return "";
        }
        if (name[0] == 0) {
            return "@" + new String(name, 1, name.length - 1, StandardCharsets.UTF_8).replace('\0', '@');
        }
        int end = 0;
        while (end < name.length && name[end] != 0) {
            end++;
        }
        return new String(name, 0, end, StandardCharsets.UTF_8);
    }

    /** {@code 127.0.0.1:80} or {@code [::1]:80}. */
    public static String inet(int family, byte[] addr, int port) {
        try {
            String a = InetAddress.getByAddress(addr).getHostAddress();
            return (family == Linux.AF_INET6() ? "[" + a + "]" : a) + ":" + port;
        } catch (UnknownHostException e) {
            return "?:" + port;
        }
    }
}
