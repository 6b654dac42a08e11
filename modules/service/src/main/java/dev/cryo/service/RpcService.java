package dev.cryo.service;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import dev.cryo.service.internal.Rehearsal;
import dev.cryo.service.internal.ServiceContext;
import dev.cryo.service.internal.Session;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.SeqpacketSocket;

/**
 * cryo's RPC service: CRIU's RPC (rpc.proto's {@code criu_req} and {@code criu_resp}, one protobuf message
 * per SOCK_SEQPACKET message) over {@link dev.cryo.dump.Dumper} and {@link dev.cryo.restore.Restorer},
 * so that clients written for CRIU (pycriu, go-criu, runc) drive cryo, and so that a warm JVM serves
 * dumps with no start-up.
 *
 * <pre>{@code
 * try (RpcService service = RpcService.listen(Path.of("/run/cryo.sock"), ServiceLog.SILENT, true)) {
 *     service.serve();                        // until close(), from another thread or a shutdown hook
 * }
 * RpcConnection.adopt(fd, ServiceLog.SILENT, true).serve();   // CRIU's swrk: one client on an inherited socket
 * }</pre>
 *
 * <p><b>Concurrency.</b> Each connection is served by a thread of its own, so VERSION, CHECK and
 * FEATURE_CHECK are answered at once whatever else runs; tree operations (DUMP, PRE_DUMP, SINGLE_PRE_DUMP,
 * RESTORE) take turns, one at a time, first come first served: they share the JVM's ptrace waits and page
 * buffers, and a tree's frozen time is shortest with the machine to itself.
 *
 * <p><b>Cancellation.</b> A client that hangs up while its request runs (closes its socket, or dies)
 * cancels it: a dump unwinds, releases its tree untouched and leaves its images directory as it was; a
 * restore kills what it made. {@link #close()} cancels every running request the same way and waits for
 * them to unwind.
 *
 * <p><b>Options.</b> Every field a request sets is looked at: one that cryo does not serve is refused by
 * name in the response ({@code cr_errmsg}, {@code cr_errno} EBADRQC), never ignored. Who may connect: the
 * socket file is made mode 0600, and a client whose uid (SO_PEERCRED) is neither the service's nor root's
 * is refused. A client's fds ({@code images_dir_fd}, {@code work_dir_fd}) are reached through
 * {@code /proc/PID/fd} of the pid its socket names, as CRIU does.
 */
public final class RpcService implements AutoCloseable {
    private static final int BACKLOG = 16;
    private static final long UNWIND_SECONDS = 60;

    private final Path address;
    private final Object socketFile;
    private final SeqpacketSocket listener;
    private final Io.Pipe stop;
    private final ServiceContext context;
    private final ServiceLog log;
    private final int uid;
    private final Map<Session, Thread> sessions = new ConcurrentHashMap<>();
    private boolean closed;

    private RpcService(Path address, Object socketFile, SeqpacketSocket listener, Io.Pipe stop, ServiceLog log, boolean warmUp)
            throws IOException {
        this.address = address;
        this.socketFile = socketFile;
        this.listener = listener;
        this.stop = stop;
        this.log = log;
        this.context = new ServiceContext(log, System.err, warmUp);
        this.uid = ownUid();
    }

    /**
     * A service listening at {@code address}, a unix socket path that must not be in use: a socket there
     * that nobody serves (left by a service that was killed) is replaced; one that is served, or any other
     * file, is refused. The path appears only once the socket listens (it is bound under a temporary name
     * and renamed), so a client that waits for the file can connect at once.
     *
     * @param warmUp a dump or pre-dump rehearses on a decoy first, once per service and kind (see
     *               {@link dev.cryo.dump.DumpOptions#warmUp()}), so that even the first is not run cold
     */
    public static RpcService listen(Path address, ServiceLog log, boolean warmUp) throws IOException {
        Path absolute = address.toAbsolutePath();
        clearStale(absolute);
        Path temporary = absolute.resolveSibling("." + absolute.getFileName() + "." + ProcessHandle.current().pid());
        Path bound = temporary.toString().getBytes().length <= 107 ? temporary : absolute;
        SeqpacketSocket listener;
        try {
            listener = SeqpacketSocket.listen(bound.toString(), BACKLOG);
        } catch (ErrnoException e) {
            throw new IOException("cannot listen at " + absolute + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IOException("cannot listen at " + absolute + ": " + e.getMessage(), e);
        }
        try {
            Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
            if (!bound.equals(absolute)) {
                Files.move(bound, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            Object key = Files.readAttributes(absolute, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            return new RpcService(absolute, key, listener, Io.pipe(Kernel.O_CLOEXEC), log, warmUp);
        } catch (IOException | RuntimeException e) {
            listener.close();
            Files.deleteIfExists(bound);
            throw e;
        }
    }

    /** A socket left at {@code address} by a service that is gone is removed; anything else there is refused. */
    private static void clearStale(Path address) throws IOException {
        if (!Files.exists(address, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.readAttributes(address, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
            throw new IOException("cannot listen at " + address + ": the file exists and is not a socket");
        }
        try (SeqpacketSocket probe = SeqpacketSocket.connect(address.toString())) {
            throw new IOException("cannot listen at " + address + ": another service listens there");
        } catch (ErrnoException e) {
            if (!e.is(Errno.ECONNREFUSED)) {
                throw new IOException("cannot listen at " + address + ": " + e.getMessage(), e);
            }
            Files.deleteIfExists(address); // nobody listens: a killed service's socket
        }
    }

    public Path address() {
        return address;
    }

    /**
     * Accepts clients, each served by a thread of its own, until {@link #close()}; then returns, once the
     * sessions have ended.
     */
    public void serve() {
        while (true) {
            SeqpacketSocket client = listener.accept(stop.read());
            if (client == null) {
                return;
            }
            try {
                Session session = new Session(client, context, uid);
                log.log("pid " + session.peer().pid() + " (uid " + session.peer().uid() + ") connected");
                Thread t = Thread.ofPlatform().name("cryo-rpc-" + session.peer().pid()).unstarted(() -> {
                    try {
                        session.run();
                    } finally {
                        sessions.remove(session);
                    }
                });
                sessions.put(session, t);
                t.start();
            } catch (RuntimeException e) {
                client.close();
                log.log("a connection failed: " + e);
            }
        }
    }

    /**
     * For a JDK AOT training run ({@code ./cryo}'s): a client's round of every kind of request through a
     * service of its own, on the tree rooted at {@code pid}, which it dumps (so kills) and restores; images
     * under {@code scratch}. Returns the restored root's pid (the same).
     */
    public static int rehearse(int pid, Path scratch) throws IOException, InterruptedException {
        return Rehearsal.run(pid, scratch);
    }

    /**
     * Stops: no new connection is taken, every running request is cancelled (its client hears so) and
     * unwinds, within a minute; then every connection is closed and the socket file removed.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (Arena a = Arena.ofConfined()) {
            Io.writeFully(stop.write().fd(), a.allocate(1));
        }
        context.stop("the service is stopping");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(UNWIND_SECONDS);
        try {
            // idle sessions wait for a request: end their wait; busy ones end after answering, as the context stops
            sessions.keySet().forEach(Session::shutdownIfIdle);
            for (Thread t : sessions.values()) {
                long left = deadline - System.nanoTime();
                if (left > 0) {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sessions.keySet().forEach(Session::shutdown);
        listener.close();
        stop.close();
        removeSocketFile();
    }

    private void removeSocketFile() {
        try {
            Object now = Files.readAttributes(address, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (Objects.equals(now, socketFile)) {
                Files.delete(address);
            }
        } catch (IOException e) {
            // gone already, or replaced by another service's: not ours to remove
        }
    }

    /** The effective uid of this process: the owner of /proc/self. */
    static int ownUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }
}
