package dev.cryo.dump.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.protobuf.ByteString;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpListener;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.SkOptsEntry;
import dev.cryo.images.proto.UnixSkEntry;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.NetworkLock;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.NetNamespace;
import dev.cryo.syscalls.SockDiag;
import dev.cryo.syscalls.Tcp;

/**
 * The sockets of one dump: what sock_diag says of the network namespace (read once, at the first socket),
 * the unix sockets dumped so far with their peers (checked once every process is: a peer outside the tree
 * needs --ext-unix-sk, as in CRIU), the TCP connections locked and put in repair mode, and the fds that
 * rode in socket queues, open in cryo until the end.
 *
 * <p>Closing it before the tree is released puts every repaired connection back to work and lifts the
 * lock, unless the dump succeeded and the tree is to be killed ({@link #keepForRestore}): then the sockets
 * die in repair mode, silently, and the lock holds the peers off until the restore lifts it.
 */
final class SocketTable implements AutoCloseable {
    /** unix_sk_entry.uflags: a peer outside the tree, reconnected by name (CRIU's USK_EXTERN). */
    static final int USK_EXTERN = 1;

    private final boolean tcpEstablished;
    private final boolean tcpClose;
    private final boolean extUnixSk;
    private final boolean lock;
    private final String lockTable;
    /** The tree's root: sock_diag is asked in its network namespace, which need not be cryo's. */
    private final int rootPid;
    private final DumpListener log;
    private Map<Long, SockDiag.Unix> unix;
    private final Map<String, Map<Long, SockDiag.Inet>> inet = new HashMap<>();
    /** unix sockets dumped, by inode: where, and what was dumped */
    private final Map<Long, Dumped> unixDumped = new LinkedHashMap<>();
    private final List<Repaired> repaired = new ArrayList<>();
    private final List<Fd> inFlight = new ArrayList<>();
    private Fd self;
    private boolean locked;
    private boolean keep;

    /** One unix socket as dumped, and the fd it was first met at. */
    record Dumped(String where, UnixSkEntry entry) {}

    /** A TCP socket cryo put into repair mode, through its duplicate; SO_REUSEADDR to put back on release. */
    private record Repaired(Fd sock, boolean reuseaddr) {}

    SocketTable(boolean tcpEstablished, boolean tcpClose, boolean extUnixSk, boolean lock, int rootPid, DumpListener log) {
        this.tcpEstablished = tcpEstablished;
        this.tcpClose = tcpClose;
        this.extUnixSk = extUnixSk;
        this.lock = lock;
        this.lockTable = lockTable(rootPid);
        this.rootPid = rootPid;
        this.log = log;
    }

    /** The nf_tables table that locks the connections of the tree dumped with root {@code pid}. */
    static String lockTable(int pid) {
        return "cryo-" + pid;
    }

    boolean tcpEstablished() {
        return tcpEstablished;
    }

    boolean tcpClose() {
        return tcpClose;
    }

    DumpListener log() {
        return log;
    }

    SockDiag.Unix unix(long ino) {
        if (unix == null) {
            unix = NetNamespace.in(rootPid, SockDiag::unixSockets);
        }
        return unix.get(ino);
    }

    /** The listener on which the connection of socket {@code ino} waits to be accepted, or null. */
    SockDiag.Unix listenerWaitedOnBy(long ino) {
        unix(ino);
        for (SockDiag.Unix u : unix.values()) {
            for (long icon : u.icons()) {
                if (icon == ino) {
                    return u;
                }
            }
        }
        return null;
    }

    SockDiag.Inet inet(int family, int protocol, long ino) {
        return inet.computeIfAbsent(family + "/" + protocol, k -> NetNamespace.in(rootPid, () -> SockDiag.inetSockets(family, protocol)))
                .get(ino);
    }

    void dumpedUnix(long ino, String where, UnixSkEntry entry) {
        unixDumped.putIfAbsent(ino, new Dumped(where, entry));
    }

    /**
     * Locks connection {@code c} (nf_tables) and puts {@code sock}, cryo's duplicate of its socket, into repair
     * mode: from here on the peer's packets are dropped and the socket sends nothing.
     */
    void repair(Fd sock, boolean reuseaddr, NetworkLock.Connection c) {
        if (lock) {
            NetNamespace.in(rootPid, () -> {
                NetworkLock.lock(lockTable, c);
                return null;
            });
            locked = true;
        }
        Tcp.repair(sock, true);
        repaired.add(new Repaired(sock, reuseaddr));
    }

    boolean locked() {
        return locked;
    }

    /** An fd of cryo's that rode in a socket's queue: kept open (so kcmp finds it again) until the dump ends. */
    OpenFd inFlight(Fd fd) throws DumpException {
        inFlight.add(fd);
        int pid = (int) ProcessHandle.current().pid();
        if (self == null) {
            self = Pidfd.open(pid);
        }
        return FdCollector.read(pid, fd.fd(), self);
    }

    /**
     * Once every process is dumped: each unix socket's peer must be dumped too, or be outside the tree and
     * allowed by --ext-unix-sk (a datagram socket connected to a named one, which restore connects to again);
     * a connection waiting on a dumped listener must come from a dumped socket. Returns the entries of the
     * external peers, for files.img.
     */
    List<FileEntry> checkPeers(FileTable files) throws DumpException {
        List<FileEntry> externals = new ArrayList<>();
        Map<Long, Integer> externalIds = new HashMap<>();
        for (Map.Entry<Long, Dumped> d : unixDumped.entrySet()) {
            UnixSkEntry e = d.getValue().entry();
            String what = d.getValue().where() + ": unix socket " + d.getKey() + describe(e.getName().toByteArray());
            if (e.getState() == Kernel.TCP_LISTEN) {
                SockDiag.Unix diag = unix(d.getKey());
                for (long icon : diag == null ? new long[0] : diag.icons()) {
                    if (!unixDumped.containsKey(icon)) {
                        throw new DumpException("cannot dump " + what + ": a connection from socket " + icon
                                + ", outside the tree, waits to be accepted on it");
                    }
                }
            }
            long peer = Integer.toUnsignedLong(e.getPeer());
            if (peer == 0 || unixDumped.containsKey(peer)) {
                continue;
            }
            SockDiag.Unix p = unix(peer);
            String peerWhat = "socket " + peer + (p == null ? "" : describe(p.name()));
            if (!extUnixSk) {
                throw new DumpException("cannot dump " + what + ": it is connected to " + peerWhat
                        + ", outside the tree; dump with --ext-unix-sk to connect it to that name again at restore");
            }
            if (e.getType() != Kernel.SOCK_DGRAM) {
                throw new DumpException("cannot dump " + what + ": it is one end of a stream connection whose other end, "
                        + peerWhat + ", is outside the tree, which no restore can bring back (CRIU refuses it too)");
            }
            if (p == null || !p.bound() ) {
                throw new DumpException("cannot dump " + what + ": it is connected to " + peerWhat
                        + ", outside the tree and bound to no name that restore could connect it to");
            }
            if (!externalIds.containsKey(peer)) {
                int id = files.nextId();
                externalIds.put(peer, id);
                externals.add(FileEntry.newBuilder().setType(FdTypes.UNIXSK).setId(id).setUsk(UnixSkEntry.newBuilder()
                        .setId(id).setIno((int) peer).setType(Kernel.SOCK_DGRAM).setState(Kernel.TCP_LISTEN)
                        .setFlags(0).setUflags(USK_EXTERN).setBacklog(0).setPeer(0).setFown(FileTable.NO_OWNER)
                        .setOpts(SkOptsEntry.newBuilder().setSoSndbuf(0).setSoRcvbuf(0).setSoSndTmoSec(0)
                                .setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0))
                        .setName(ByteString.copyFrom(p.name()))).build());
                log.log("unix socket " + peer + describe(p.name()) + " is outside the tree: restore connects to it by name");
            }
        }
        return externals;
    }

    private static String describe(byte[] name) {
        String n = dev.cryo.syscalls.SocketAddress.displayUnix(name);
        return n.isEmpty() ? "" : " (" + n + ")";
    }

    /** The dump succeeded and the tree is to be killed: its repaired sockets die silently, the lock stays. */
    void keepForRestore() {
        keep = true;
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (Repaired r : repaired) {
            try {
                if (!keep) {
                    // back to work before the tree runs again: in repair mode its own writes would fail (EINVAL)
                    Tcp.repair(r.sock(), false);
                    // TCP_REPAIR set SO_REUSEADDR's force mode; repair off clears it: the task's value goes back
                    dev.cryo.syscalls.Sockets.setIntOption(r.sock(), Kernel.SOL_SOCKET, Kernel.SO_REUSEADDR, r.reuseaddr() ? 1 : 0);
                }
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            } finally {
                r.sock().close();
            }
        }
        repaired.clear();
        if (locked && !keep) {
            try {
                NetNamespace.in(rootPid, () -> {
                    NetworkLock.unlock(lockTable);
                    return null;
                });
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
            locked = false;
        }
        inFlight.forEach(Fd::close);
        inFlight.clear();
        if (self != null) {
            self.close();
            self = null;
        }
        if (failure != null) {
            throw failure;
        }
    }
}
