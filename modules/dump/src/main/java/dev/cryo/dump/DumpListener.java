package dev.cryo.dump;

/** Hears how a dump goes: for progress bars and verbose logs. Called from the dumping thread. */
public interface DumpListener {
    DumpListener SILENT = new DumpListener() {};

    /** {@code done} of {@code total} pages written so far. */
    default void pages(long done, long total) {}

    /**
     * A dump with {@code --lazy-pages} has written its images and waits at {@code where} (address:port) for the
     * lazy-pages daemon: the images may be copied now.
     */
    default void servingLazyPages(String where) {}

    /**
     * A dump with {@code --lazy-pages}: the lazy-pages daemon at {@code peer} has connected, and the tree is
     * committed to it (it will never run here again).
     */
    default void lazyDaemonConnected(String peer) {}

    /** A step of the dump, for {@code -v}. */
    default void log(String message) {}
}
