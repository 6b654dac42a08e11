package dev.cryo.lazypages;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import dev.cryo.lazypages.internal.Messages;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.SeqpacketSocket;

/**
 * A lazy restore's connection to its lazy-pages daemon: each process's userfaultfd goes over it (SCM_RIGHTS,
 * with a pidfd of the process), then word that the tree runs. The daemon may refuse a process (one it does not
 * know from the images): {@link #hand} then throws its reason.
 *
 * <pre>{@code
 * try (Handoff h = Handoff.connect(socket)) {
 *     h.hand(pid, uffd, pidfd);    // for every process, before the tree runs
 *     h.released();                // once it runs
 * }
 * }</pre>
 */
public final class Handoff implements AutoCloseable {
    private final SeqpacketSocket socket;
    private final Path path;

    private Handoff(SeqpacketSocket socket, Path path) {
        this.socket = socket;
        this.path = path;
    }

    /** Connects to the daemon listening at {@code socket}. */
    public static Handoff connect(Path socket) {
        try {
            return new Handoff(SeqpacketSocket.connect(socket.toString()), socket);
        } catch (ErrnoException e) {
            throw new LazyPagesException("cannot reach a lazy-pages daemon at " + socket + ": " + e.reason()
                    + " (start one with cryo lazy-pages first)", e);
        }
    }

    /** Hands over process {@code pid}'s userfaultfd and a pidfd of it (the daemon gets its own duplicates). */
    public void hand(int pid, Fd uffd, Fd pidfd) {
        try (Arena a = Arena.ofConfined()) {
            socket.send(Messages.task(a, pid), uffd.fd(), pidfd.fd());
            MemorySegment answer = socket.receive(a);
            if (answer == null) {
                throw new LazyPagesException("the lazy-pages daemon at " + path + " went away when it was given pid " + pid);
            }
            String refusal = Messages.refusal(answer);
            if (refusal != null) {
                throw new LazyPagesException("the lazy-pages daemon at " + path + " refused pid " + pid + ": " + refusal);
            }
        } catch (ErrnoException e) {
            throw new LazyPagesException("the lazy-pages daemon at " + path + " went away when it was given pid " + pid
                    + ": " + e.reason(), e);
        }
    }

    /** The tree runs: the daemon has every process it will get. */
    public void released() {
        try (Arena a = Arena.ofConfined()) {
            socket.send(Messages.released(a));
        } catch (ErrnoException e) {
            throw new LazyPagesException("the lazy-pages daemon at " + path + " went away before the tree ran: " + e.reason(), e);
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
