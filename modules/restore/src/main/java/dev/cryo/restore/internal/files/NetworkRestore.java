package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.NetworkLock;
import dev.cryo.syscalls.Sockets;
import dev.cryo.syscalls.TcpStream;

/**
 * The connections of one restore: what CRIU's options allow (--tcp-established, --tcp-close,
 * --ext-unix-sk), the TCP connections rebuilt in repair mode (cryo's duplicates, each with its state),
 * and the network lock the dump left (table {@code cryo-PID}, PID the dumped root's).
 *
 * <p>{@link #resume} runs once every task is built and before any is released: each repaired connection
 * leaves repair mode (a task that wrote to it in repair mode would get EINVAL), sends what it had never
 * sent, gets its SO_REUSEADDR back; then the lock goes, and the peers' retransmissions come through.
 * Closing without a resume (the restore failed) drops the duplicates, whose sockets die silently in repair
 * mode with their tasks, and leaves the lock: the peers wait, and the restore can be tried again.
 */
public final class NetworkRestore implements AutoCloseable {
    private final boolean tcpEstablished;
    private final boolean tcpClose;
    private final boolean extUnixSk;
    private final boolean lock;
    private final String lockTable;
    private final List<Repaired> repaired = new ArrayList<>();
    private boolean resumed;
    /** The queues of the repaired connections: the unsent bytes go out at {@link #resume}, after the files' own memory is gone. */
    private final Arena arena = Arena.ofShared();

    private record Repaired(Fd sock, TcpStream.State state, boolean reuseaddr, boolean reuseport) {}

    /** For the tree whose root had pid {@code dumpedRoot} at dump. */
    public NetworkRestore(boolean tcpEstablished, boolean tcpClose, boolean extUnixSk, boolean lock, int dumpedRoot) {
        this.tcpEstablished = tcpEstablished;
        this.tcpClose = tcpClose;
        this.extUnixSk = extUnixSk;
        this.lock = lock;
        this.lockTable = "cryo-" + dumpedRoot;
    }

    boolean tcpEstablished() {
        return tcpEstablished;
    }

    boolean tcpClose() {
        return tcpClose;
    }

    boolean extUnixSk() {
        return extUnixSk;
    }

    /** Room for {@code n} bytes of a connection's queue, alive until this closes. */
    MemorySegment bytes(long n) {
        return arena.allocate(Math.max(n, 1)).asSlice(0, n);
    }

    /** Takes {@code sock}, a duplicate of a rebuilt connection still in repair mode, to resume with the others. */
    void repaired(Fd sock, TcpStream.State state, boolean reuseaddr, boolean reuseport) {
        repaired.add(new Repaired(sock, state, reuseaddr, reuseport));
    }

    /** Every repaired connection talks again; then the lock goes. Returns how many connections resumed. */
    public int resume() {
        for (Repaired r : repaired) {
            TcpStream.resume(r.sock(), r.state());
            Sockets.setIntOption(r.sock(), Kernel.SOL_SOCKET, Kernel.SO_REUSEADDR, r.reuseaddr() ? 1 : 0);
            Sockets.setIntOption(r.sock(), Kernel.SOL_SOCKET, Kernel.SO_REUSEPORT, r.reuseport() ? 1 : 0);
        }
        resumed = true;
        // Deleting a table is an nf_tables transaction, 12 ms here even when there is no such table (its abort,
        // as a commit, waits for the kernel's RCU): when nothing was repaired, a plain query asks first.
        if (lock && (!repaired.isEmpty() || NetworkLock.exists(lockTable))) {
            NetworkLock.unlock(lockTable);
        }
        return repaired.size();
    }

    @Override
    public void close() {
        repaired.forEach(r -> r.sock().close());
        repaired.clear();
        arena.close();
    }
}
