package dev.cryo.syscalls;

import dev.cryo.bindings.Linux;

/**
 * Network namespaces: {@code setns(2)} of the calling thread into one named by a file (as {@code ip netns}
 * keeps them, {@code /var/run/netns/NAME}). Only the calling thread moves, and the threads it starts after;
 * sockets it makes belong to that namespace for their whole life.
 */
public final class NetNamespace {
    private NetNamespace() {}

    /** Moves the calling thread into the network namespace that {@code path} refers to. */
    public static void enter(String path) {
        try (Fd ns = Io.open(path, Linux.O_RDONLY())) {
            Syscall.call("setns(" + path + ", CLONE_NEWNET)", Linux.__NR_setns(), ns.fd(), Linux.CLONE_NEWNET());
        }
    }

    /**
     * {@code work}'s result as seen from the network namespace of process {@code pid}: run here when that is
     * the caller's own, else on a thread of its own that enters it first (sock_diag and nf_tables answer
     * for the namespace of the socket that asks).
     */
    public static <T> T in(int pid, java.util.function.Supplier<T> work) {
        String theirs = Io.readlink("/proc/" + pid + "/ns/net");
        if (theirs.equals(Io.readlink("/proc/thread-self/ns/net"))) {
            return work.get();
        }
        java.util.concurrent.atomic.AtomicReference<T> answer = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<RuntimeException> failed = new java.util.concurrent.atomic.AtomicReference<>();
        Thread t = Thread.ofPlatform().name("cryo-netns-" + pid).start(() -> {
            try {
                enter("/proc/" + pid + "/ns/net");
                answer.set(work.get());
            } catch (RuntimeException e) {
                failed.set(e);
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while asking the network namespace of pid " + pid, e);
        }
        if (failed.get() != null) {
            throw failed.get();
        }
        return answer.get();
    }
}
