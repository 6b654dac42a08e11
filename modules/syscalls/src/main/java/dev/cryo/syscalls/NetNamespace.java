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
}
