package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.nlattr;
import dev.cryo.bindings.nlmsghdr;

/**
 * A netlink socket to the kernel (sock_diag, nfnetlink): requests built with {@link Request}, answers read
 * message by message until the kernel says it is done. An error the kernel answers with becomes an
 * {@link ErrnoException} naming the request.
 */
final class Netlink implements AutoCloseable {
    private static final int ALIGN = Linux.NLMSG_ALIGNTO();
    private static final int ANSWER_BYTES = 64 * 1024;
    private final Fd sock;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment answer = arena.allocate(ANSWER_BYTES, 8);
    private int seq;

    private Netlink(Fd sock) {
        this.sock = sock;
    }

    static Netlink open(int protocol) {
        return new Netlink(Fd.own((int) Syscall.call("socket(AF_NETLINK, " + protocol + ")", Linux.__NR_socket(),
                Linux.AF_NETLINK(), Linux.SOCK_RAW() | Linux.SOCK_CLOEXEC(), protocol)));
    }

    int nextSeq() {
        return ++seq;
    }

    /** One kernel answer: its type, flags, sequence number, and the payload after the header. */
    record Message(int type, int flags, int seq, MemorySegment payload) {}

    /** Sends {@code request}; the kernel answers messages with its sequence numbers. */
    void send(Request request) {
        byte[] bytes = request.bytes();
        MemorySegment out = arena.allocate(Math.max(bytes.length, 1), 8);
        MemorySegment.copy(bytes, 0, out, ValueLayout.JAVA_BYTE, 0, bytes.length);
        Io.writeFully(sock.fd(), out.asSlice(0, bytes.length));
    }

    /**
     * Reads answers, each message to {@code each}, until NLMSG_DONE (a dump) or, when {@code acks} messages
     * ask for an acknowledgement, until every one is acknowledged. An NLMSG_ERROR with an errno throws,
     * naming {@code what}.
     */
    void receive(String what, int acks, Consumer<Message> each) {
        int acked = 0;
        while (true) {
            long n = Io.read(sock.fd(), answer);
            for (long at = 0; at + nlmsghdr.sizeof() <= n; ) {
                MemorySegment h = answer.asSlice(at);
                int len = nlmsghdr.nlmsg_len(h);
                if (len < nlmsghdr.sizeof() || at + len > n) {
                    throw new IllegalStateException("netlink answered a message of " + len + " bytes to " + what);
                }
                int type = Short.toUnsignedInt(nlmsghdr.nlmsg_type(h));
                MemorySegment payload = h.asSlice(nlmsghdr.sizeof(), len - nlmsghdr.sizeof());
                if (type == Linux.NLMSG_DONE()) {
                    return;
                }
                if (type == Linux.NLMSG_ERROR()) {
                    int errno = -payload.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
                    if (errno != 0) {
                        throw new ErrnoException(what, new long[0], errno);
                    }
                    if (++acked >= acks) {
                        return;
                    }
                } else {
                    each.accept(new Message(type, Short.toUnsignedInt(nlmsghdr.nlmsg_flags(h)), nlmsghdr.nlmsg_seq(h), payload));
                    if (acks == 0 && (nlmsghdr.nlmsg_flags(h) & Linux.NLM_F_MULTI()) == 0) {
                        return; // a single answer, not a dump
                    }
                }
                at += align(len);
            }
        }
    }

    static int align(int n) {
        return (n + ALIGN - 1) & -ALIGN;
    }

    /**
     * The attributes in {@code area} (after a message's fixed header): each one's type (NLA_F_NESTED and the
     * byte-order flag cleared) and payload, to {@code each}.
     */
    static void attributes(MemorySegment area, AttributeVisitor each) {
        for (long at = 0; at + nlattr.sizeof() <= area.byteSize(); ) {
            MemorySegment a = area.asSlice(at);
            int len = Short.toUnsignedInt(nlattr.nla_len(a));
            if (len < nlattr.sizeof() || at + len > area.byteSize()) {
                return;
            }
            int type = Short.toUnsignedInt(nlattr.nla_type(a)) & ~(Linux.NLA_F_NESTED() | Linux.NLA_F_NET_BYTEORDER());
            each.visit(type, a.asSlice(nlattr.sizeof(), len - nlattr.sizeof()));
            at += align(len);
        }
    }

    interface AttributeVisitor {
        void visit(int type, MemorySegment payload);
    }

    /**
     * Netlink messages built in order, in native byte order but for the values the caller gives in network
     * order ({@link #u32be}, {@link #u16be}, as nf_tables wants them).
     */
    static final class Request {
        private ByteBuffer buf = ByteBuffer.allocate(512).order(ByteOrder.nativeOrder());
        private final List<Integer> open = new ArrayList<>();

        /** Starts a message; {@link #end} closes it. */
        Request begin(int type, int flags, int seq) {
            ensure((int) nlmsghdr.sizeof());
            open.add(buf.position());
            buf.putInt(0).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
            return this;
        }

        Request end() {
            int start = open.removeLast();
            buf.putInt(start, buf.position() - start);
            return this;
        }

        Request u8(int v) {
            ensure(1);
            buf.put((byte) v);
            return this;
        }

        Request u16(int v) {
            ensure(2);
            buf.putShort((short) v);
            return this;
        }

        Request u32(int v) {
            ensure(4);
            buf.putInt(v);
            return this;
        }

        Request bytes(byte[] b) {
            ensure(b.length);
            buf.put(b);
            return this;
        }

        /** Pads to the netlink alignment. */
        Request pad() {
            while (buf.position() % ALIGN != 0) {
                u8(0);
            }
            return this;
        }

        Request attr(int type, byte[] value) {
            ensure((int) nlattr.sizeof() + value.length + ALIGN);
            buf.putShort((short) (nlattr.sizeof() + value.length)).putShort((short) type).put(value);
            return pad();
        }

        Request attrString(int type, String value) {
            byte[] s = value.getBytes(StandardCharsets.UTF_8);
            byte[] z = new byte[s.length + 1];
            System.arraycopy(s, 0, z, 0, s.length);
            return attr(type, z);
        }

        Request u32be(int type, int value) {
            return attr(type, ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN).putInt(value).array());
        }

        /** Starts a nested attribute; {@link #endNest} closes it. */
        Request nest(int type) {
            ensure((int) nlattr.sizeof());
            open.add(buf.position());
            buf.putShort((short) 0).putShort((short) (type | Linux.NLA_F_NESTED()));
            return this;
        }

        Request endNest() {
            int start = open.removeLast();
            buf.putShort(start, (short) (buf.position() - start));
            return this;
        }

        byte[] bytes() {
            if (!open.isEmpty()) {
                throw new IllegalStateException("a netlink message or attribute was left open");
            }
            byte[] b = new byte[buf.position()];
            buf.get(0, b);
            return b;
        }

        private void ensure(int more) {
            if (buf.remaining() < more) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + more)).order(ByteOrder.nativeOrder());
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }
    }

    @Override
    public void close() {
        try {
            sock.close();
        } finally {
            arena.close();
        }
    }
}
