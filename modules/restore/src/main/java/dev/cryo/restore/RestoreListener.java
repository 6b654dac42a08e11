package dev.cryo.restore;

/** Hears how a restore goes, from the restoring thread: for logs, and for tests that must act at a known step. */
public interface RestoreListener {
    RestoreListener SILENT = new RestoreListener() {};

    /**
     * Process {@code pid} (as cryo sees it) exists, cloned from its parent's puppet; cryo still builds it:
     * it is traced and stopped until the whole tree is released.
     */
    default void processCreated(int pid) {}

    /**
     * The tree is built and about to be released: none of it has run yet. Throwing here fails the restore, which
     * kills the tree (a rehearsal, which warms the restore's code up on a decoy, so never lets the decoy's copy run).
     */
    default void releasing() {}
}
