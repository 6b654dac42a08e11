package dev.cryo.restore;

import dev.cryo.syscalls.Fd;

/**
 * Where a lazy restore hands each process's userfaultfd: a lazy-pages daemon, which fills the process's
 * lazy memory as it faults. The restore creates the userfaultfd inside the process, registers the lazy
 * mappings once the whole tree's memory is built, and hands it over before any task of the tree runs; it
 * {@link #confirm}s before the release and after the release it says {@link #released}.
 * A handoff that throws refuses the process, and the restore fails and kills the tree.
 */
public interface LazyHandoff {
    /**
     * The registered userfaultfd of process {@code pid} (its pid in the images) and a pidfd of it. Both stay the
     * caller's, who closes them after this returns: keep duplicates (SCM_RIGHTS gives the receiver its own). The
     * restore hands every process over as soon as the tree's memory is built, and goes on with its files and kernel
     * state while the daemon takes them: this may return before the daemon has answered, {@link #confirm} waits.
     */
    void hand(int pid, Fd uffd, Fd pidfd);

    /**
     * Waits until the daemon has accepted every process handed over; throws its refusal. Called once, before the
     * tree is released; a {@link #hand} that waits for its own answer needs nothing here.
     */
    default void confirm() {}

    /** Every task of the tree is released: the daemon has all the processes it will get from this restore. */
    void released();

    /**
     * Called once, after the tree's memory is built and before the restore opens anything the original may still
     * hold on this host (its terminal, files, sockets, locks), and before any {@link #hand}: a handoff whose daemon
     * has yet to connect to the dump that keeps the lazy pages connects here (post-copy: that connection is the dump's
     * commit, which frees what the original holds), so that the restore's reading of the images and building of the
     * memory overlap the daemon's start. Throwing fails the restore, and the tree, never released, is killed.
     */
    default void awaitSource() {}

    /**
     * Whether the daemon also places the pages of the pre-dump parents (false by default: the restore writes them,
     * for a daemon that would fetch them again from the dump's side, criu issue 2542). True where the daemon reads
     * them from images on its own side, as live migration's destination does from its image cache: the restore
     * then leaves them as it leaves the final dump's lazy pages, and the tree runs before they are in place.
     */
    default boolean placesParentPages() {
        return false;
    }
}
