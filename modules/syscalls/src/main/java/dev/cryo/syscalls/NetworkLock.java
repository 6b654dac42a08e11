package dev.cryo.syscalls;

import java.util.Arrays;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.nfgenmsg;

/**
 * Silences TCP connections while their sockets are dumped and until they are restored, as CRIU's network
 * lock does: an nf_tables table of cryo's (family inet) whose input and output chains drop every packet of
 * the locked connections, both ways. Without it, a peer that sends while the dumped socket is gone (the
 * tree killed, not yet restored) gets a RST from the kernel, and its connection dies; and data it sends
 * while the socket's queues are read would be acknowledged but not dumped. The peer's TCP retransmits what
 * was dropped once the lock is lifted. Spoken to the kernel directly (nfnetlink), needing CAP_NET_ADMIN;
 * the table outlives cryo, from the dump to the restore that lifts it.
 */
public final class NetworkLock {
    /** IP header offsets of the source and destination addresses, and TCP's of the ports (RFC 791, 8200, 9293). */
    private static final int IPV4_SRC = 12;
    private static final int IPV4_DST = 16;
    private static final int IPV6_SRC = 8;
    private static final int IPV6_DST = 24;
    private static final int TCP_SPORT = 0;
    private static final int TCP_DPORT = 2;
    private static final String INPUT = "input";
    private static final String OUTPUT = "output";

    private NetworkLock() {}

    /**
     * One TCP connection as its local socket sees it: addresses of 4 bytes (IPv4) or 16 (IPv6, an IPv4-mapped
     * one counting as IPv4, as its packets are), network order.
     */
    public record Connection(byte[] local, int localPort, byte[] remote, int remotePort) {
        public Connection {
            if (local.length != remote.length || (local.length != 4 && local.length != 16)) {
                throw new IllegalArgumentException("addresses of " + local.length + " and " + remote.length + " bytes");
            }
            if (local.length == 16 && mapped(local) && mapped(remote)) {
                local = Arrays.copyOfRange(local, 12, 16);
                remote = Arrays.copyOfRange(remote, 12, 16);
            }
        }

        private static boolean mapped(byte[] a) {
            for (int i = 0; i < 10; i++) {
                if (a[i] != 0) {
                    return false;
                }
            }
            return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
        }

        boolean v6() {
            return local.length == 16;
        }

        @Override
        public String toString() {
            int f = v6() ? Linux.AF_INET6() : Linux.AF_INET();
            return SocketAddress.inet(f, local, localPort) + " <-> " + SocketAddress.inet(f, remote, remotePort);
        }
    }

    /**
     * Drops every packet of {@code c}, both ways, from now on, in table {@code table} (made, with its two
     * chains, if it is not there yet). One nf_tables transaction: all of it or nothing.
     */
    public static void lock(String table, Connection c) {
        try (Netlink nl = Netlink.open(Linux.NETLINK_NETFILTER())) {
            Netlink.Request r = new Netlink.Request();
            int ack = Linux.NLM_F_REQUEST() | Linux.NLM_F_ACK();
            batch(r, Linux.NFNL_MSG_BATCH_BEGIN(), nl.nextSeq());
            message(r, Linux.NFT_MSG_NEWTABLE(), ack | Linux.NLM_F_CREATE(), nl.nextSeq())
                    .attrString(Linux.NFTA_TABLE_NAME(), table).end();
            chain(r, table, INPUT, Linux.NF_INET_LOCAL_IN(), nl.nextSeq());
            chain(r, table, OUTPUT, Linux.NF_INET_LOCAL_OUT(), nl.nextSeq());
            // what comes from the peer, and what the socket sends to it
            dropRule(r, table, INPUT, c.remote(), c.remotePort(), c.local(), c.localPort(), c.v6(), nl.nextSeq());
            dropRule(r, table, OUTPUT, c.local(), c.localPort(), c.remote(), c.remotePort(), c.v6(), nl.nextSeq());
            batch(r, Linux.NFNL_MSG_BATCH_END(), nl.nextSeq());
            nl.send(r);
            nl.receive("nf_tables: lock " + c + " in table " + table, 5, m -> {});
        }
    }

    /** Lifts every lock of {@code table} (the table goes); returns false when there was none. */
    public static boolean unlock(String table) {
        try (Netlink nl = Netlink.open(Linux.NETLINK_NETFILTER())) {
            Netlink.Request r = new Netlink.Request();
            batch(r, Linux.NFNL_MSG_BATCH_BEGIN(), nl.nextSeq());
            message(r, Linux.NFT_MSG_DELTABLE(), Linux.NLM_F_REQUEST() | Linux.NLM_F_ACK(), nl.nextSeq())
                    .attrString(Linux.NFTA_TABLE_NAME(), table).end();
            batch(r, Linux.NFNL_MSG_BATCH_END(), nl.nextSeq());
            nl.send(r);
            nl.receive("nf_tables: delete table " + table, 1, m -> {});
            return true;
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOENT)) {
                return false;
            }
            throw e;
        }
    }

    /** Whether table {@code table} (family inet) is there. */
    public static boolean exists(String table) {
        try (Netlink nl = Netlink.open(Linux.NETLINK_NETFILTER())) {
            nl.send(message(new Netlink.Request(), Linux.NFT_MSG_GETTABLE(), Linux.NLM_F_REQUEST() | Linux.NLM_F_ACK(),
                    nl.nextSeq()).attrString(Linux.NFTA_TABLE_NAME(), table).end());
            boolean[] found = {false};
            nl.receive("nf_tables: get table " + table, 1, m -> found[0] = true);
            return found[0];
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOENT)) {
                return false;
            }
            throw e;
        }
    }

    private static void batch(Netlink.Request r, int type, int seq) {
        r.begin(type, Linux.NLM_F_REQUEST(), seq);
        genmsg(r, Linux.AF_UNSPEC(), Linux.NFNL_SUBSYS_NFTABLES());
        r.end();
    }

    private static Netlink.Request message(Netlink.Request r, int type, int flags, int seq) {
        r.begin((Linux.NFNL_SUBSYS_NFTABLES() << 8) | type, flags, seq);
        genmsg(r, Linux.NFPROTO_INET(), 0);
        return r;
    }

    /** struct nfgenmsg: family, version, and res_id (big-endian: the subsystem, for a batch). */
    private static void genmsg(Netlink.Request r, int family, int resId) {
        r.u8(family).u8(Linux.NFNETLINK_V0()).u16(Short.toUnsignedInt(Short.reverseBytes((short) resId)));
        if (nfgenmsg.sizeof() != 4) {
            throw new IllegalStateException("struct nfgenmsg is " + nfgenmsg.sizeof() + " bytes");
        }
    }

    private static void chain(Netlink.Request r, String table, String name, int hook, int seq) {
        message(r, Linux.NFT_MSG_NEWCHAIN(), Linux.NLM_F_REQUEST() | Linux.NLM_F_ACK() | Linux.NLM_F_CREATE(), seq)
                .attrString(Linux.NFTA_CHAIN_TABLE(), table)
                .attrString(Linux.NFTA_CHAIN_NAME(), name)
                .nest(Linux.NFTA_CHAIN_HOOK())
                .u32be(Linux.NFTA_HOOK_HOOKNUM(), hook)
                .u32be(Linux.NFTA_HOOK_PRIORITY(), 0)
                .endNest()
                .u32be(Linux.NFTA_CHAIN_POLICY(), Linux.NF_ACCEPT())
                .attrString(Linux.NFTA_CHAIN_TYPE(), "filter")
                .end();
    }

    /** ip(6) saddr SRC tcp sport SPORT ip(6) daddr DST tcp dport DPORT drop, in {@code chain}. */
    private static void dropRule(Netlink.Request r, String table, String chain, byte[] src, int sport, byte[] dst, int dport,
                                 boolean v6, int seq) {
        message(r, Linux.NFT_MSG_NEWRULE(), Linux.NLM_F_REQUEST() | Linux.NLM_F_ACK() | Linux.NLM_F_CREATE(), seq)
                .attrString(Linux.NFTA_RULE_TABLE(), table)
                .attrString(Linux.NFTA_RULE_CHAIN(), chain)
                .nest(Linux.NFTA_RULE_EXPRESSIONS());
        meta(r, Linux.NFT_META_NFPROTO());
        equals(r, new byte[] {(byte) (v6 ? Linux.NFPROTO_IPV6() : Linux.NFPROTO_IPV4())});
        meta(r, Linux.NFT_META_L4PROTO());
        equals(r, new byte[] {(byte) Linux.IPPROTO_TCP()});
        payload(r, Linux.NFT_PAYLOAD_NETWORK_HEADER(), v6 ? IPV6_SRC : IPV4_SRC, src.length);
        equals(r, src);
        payload(r, Linux.NFT_PAYLOAD_NETWORK_HEADER(), v6 ? IPV6_DST : IPV4_DST, dst.length);
        equals(r, dst);
        payload(r, Linux.NFT_PAYLOAD_TRANSPORT_HEADER(), TCP_SPORT, 2);
        equals(r, port(sport));
        payload(r, Linux.NFT_PAYLOAD_TRANSPORT_HEADER(), TCP_DPORT, 2);
        equals(r, port(dport));
        expression(r, "immediate")
                .u32be(Linux.NFTA_IMMEDIATE_DREG(), Linux.NFT_REG_VERDICT())
                .nest(Linux.NFTA_IMMEDIATE_DATA()).nest(Linux.NFTA_DATA_VERDICT())
                .u32be(Linux.NFTA_VERDICT_CODE(), Linux.NF_DROP())
                .endNest().endNest();
        endExpression(r);
        r.endNest().end();
    }

    private static byte[] port(int p) {
        return new byte[] {(byte) (p >>> 8), (byte) p};
    }

    private static Netlink.Request expression(Netlink.Request r, String name) {
        return r.nest(Linux.NFTA_LIST_ELEM()).attrString(Linux.NFTA_EXPR_NAME(), name).nest(Linux.NFTA_EXPR_DATA());
    }

    private static void endExpression(Netlink.Request r) {
        r.endNest().endNest();
    }

    private static void meta(Netlink.Request r, int key) {
        expression(r, "meta").u32be(Linux.NFTA_META_KEY(), key).u32be(Linux.NFTA_META_DREG(), Linux.NFT_REG_1());
        endExpression(r);
    }

    private static void payload(Netlink.Request r, int base, int offset, int len) {
        expression(r, "payload")
                .u32be(Linux.NFTA_PAYLOAD_DREG(), Linux.NFT_REG_1())
                .u32be(Linux.NFTA_PAYLOAD_BASE(), base)
                .u32be(Linux.NFTA_PAYLOAD_OFFSET(), offset)
                .u32be(Linux.NFTA_PAYLOAD_LEN(), len);
        endExpression(r);
    }

    private static void equals(Netlink.Request r, byte[] value) {
        expression(r, "cmp")
                .u32be(Linux.NFTA_CMP_SREG(), Linux.NFT_REG_1())
                .u32be(Linux.NFTA_CMP_OP(), Linux.NFT_CMP_EQ())
                .nest(Linux.NFTA_CMP_DATA()).attr(Linux.NFTA_DATA_VALUE(), value).endNest();
        endExpression(r);
    }
}
