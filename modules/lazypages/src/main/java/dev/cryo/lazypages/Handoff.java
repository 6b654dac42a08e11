package dev.cryo.lazypages;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayDeque;

import dev.cryo.lazypages.internal.Messages;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.SeqpacketSocket;

/**
 * A lazy restore's connection to its lazy-pages daemon: each process's userfaultfd goes over it (SCM_RIGHTS,
 * with a pidfd of the process), then word that the tree runs. The daemon may refuse a process (one it does not
 * know from the images): {@link #hand} then throws its reason. {@link #send} hands a process over without waiting
 * for the answer, so that the daemon takes it while the restore goes on; {@link #confirm} then waits for the
 * answers, before the tree runs.
 *
 * <pre>{@code
 * try (Handoff h = Handoff.connect(socket)) {
 *     h.send(pid, uffd, pidfd);    // for every process, before the tree runs
 *     h.confirm();                 // every one accepted (or the refusal thrown)
 *     h.released();                // once it runs
 * }
 * }</pre>
 */
public final class Handoff implements AutoCloseable {
    private final SeqpacketSocket socket;
    private final Path path;
    /** The pids sent and not answered yet, in the order sent (the daemon answers in that order). */
    private final ArrayDeque<Integer> unanswered = new ArrayDeque<>();

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

    /** Hands over process {@code pid}'s userfaultfd and a pidfd of it (the daemon gets its own duplicates), and waits for the answer. */
    public void hand(int pid, Fd uffd, Fd pidfd) {
        send(pid, uffd, pidfd);
        confirm();
    }

    /**
     * Sends process {@code pid}'s userfaultfd and a pidfd of it (the daemon gets its own duplicates) without waiting
     * for the answer: the daemon may already fill the process's memory when this returns. {@link #confirm} reads it.
     */
    public void send(int pid, Fd uffd, Fd pidfd) {
        try (Arena a = Arena.ofConfined()) {
            socket.send(Messages.task(a, pid), uffd.fd(), pidfd.fd());
            unanswered.add(pid);
        } catch (ErrnoException e) {
            confirm(); // a daemon that refused an earlier process has gone: its refusal is the reason
            throw new LazyPagesException("the lazy-pages daemon at " + path + " went away when it was given pid " + pid
                    + ": " + e.reason(), e);
        }
    }

    /** Waits for the daemon's answer to every process sent; throws the first refusal (or the daemon's going away). */
    public void confirm() {
        try (Arena a = Arena.ofConfined()) {
            while (!unanswered.isEmpty()) {
                int pid = unanswered.peek();
                MemorySegment answer;
                try {
                    answer = socket.receive(a);
                } catch (ErrnoException e) {
                    throw new LazyPagesException("the lazy-pages daemon at " + path + " went away when it was given pid " + pid
                            + ": " + e.reason(), e);
                }
                if (answer == null) {
                    throw new LazyPagesException("the lazy-pages daemon at " + path + " went away when it was given pid " + pid);
                }
                String refusal = Messages.refusal(answer);
                if (refusal != null) {
                    throw new LazyPagesException("the lazy-pages daemon at " + path + " refused pid " + pid + ": " + refusal);
                }
                unanswered.remove();
            }
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
