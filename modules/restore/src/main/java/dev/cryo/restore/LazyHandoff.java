package dev.cryo.restore;

import dev.cryo.syscalls.Fd;

/**
 * Where a lazy restore hands each process's userfaultfd: a lazy-pages daemon, which fills the process's
 * lazy memory as it faults. The restore creates the userfaultfd inside the process, registers the lazy
 * mappings, and hands it over before any task of the tree runs; after the release it says {@link #released}.
 * A handoff that throws refuses the process, and the restore fails and kills the tree.
 */
public interface LazyHandoff {
    /**
     * The registered userfaultfd of process {@code pid} (its pid in the images) and a pidfd of it. Both stay the
     * caller's, who closes them after this returns: keep duplicates (SCM_RIGHTS gives the receiver its own).
     */
    void hand(int pid, Fd uffd, Fd pidfd);

    /** Every task of the tree is released: the daemon has all the processes it will get from this restore. */
    void released();
}
