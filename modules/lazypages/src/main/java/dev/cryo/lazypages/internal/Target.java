package dev.cryo.lazypages.internal;

import java.util.ArrayDeque;

import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Uffd;

/**
 * One userfaultfd the daemon serves: a process the restore handed over, or a child it forked since (the kernel
 * gives the daemon a userfaultfd for each fork, EVENT_FORK). Its pending pages, the messages read but not yet
 * handled, and where the background transfer goes on.
 */
final class Target {
    /** The first background chunk after a fault, and the most one chunk holds (CRIU's uffd.c: 64 KiB, 4 MiB). */
    static final long MIN_CHUNK = 64 << 10;
    static final long MAX_CHUNK = 4 << 20;

    final int pid;
    final String label;
    final Fd uffd;
    /** A pidfd of the handed process, to kill it; null for a child forked after the restore. */
    final Fd pidfd;
    final Pending pending;
    final ArrayDeque<Uffd.Message> inbox = new ArrayDeque<>();
    /** The background transfer's next address: right after the last fault, then onwards. */
    long cursor;
    long chunk = MIN_CHUNK;
    /** When the daemon last failed to place a page for want of a registered mapping there (ENOENT), or 0. */
    long noMappingSince;
    boolean gone;

    Target(int pid, String label, Fd uffd, Fd pidfd, Pending pending) {
        this.pid = pid;
        this.label = label;
        this.uffd = uffd;
        this.pidfd = pidfd;
        this.pending = pending;
    }

    /** Done with it: its memory is complete, or it has exited. */
    boolean finished() {
        return gone || pending.isEmpty() && inbox.isEmpty();
    }
}
