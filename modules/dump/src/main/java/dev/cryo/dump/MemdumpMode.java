package dev.cryo.dump;

/**
 * How a dump (not a pre-dump, see {@link PreDumpMode}) moves the frozen tree's pages to where they go. Both
 * write the same images.
 */
public enum MemdumpMode {
    /**
     * {@link #SPLICE} for a process of 4 MiB or more whose pages go to a page server over a plain socket;
     * {@link #HELD} for a small --leave-running dump into a directory where touching new memory is cheap (the
     * dump finds out as it touches that memory, before the freeze); {@link #READ} for the rest (local images,
     * smaller processes, TLS, an image proxy); chosen from measurements (docs/benchmarks.md, "Dump: splice or
     * read", "Held pages on a machine where new memory is dear").
     */
    AUTO,
    /**
     * The task vmsplices its pages into a pipe and cryo splices them on into the pages image or onto the page
     * server's socket: no copy through cryo (where the sink takes pipes: a directory's image, a plain socket).
     */
    SPLICE,
    /** cryo reads the pages with pread on /proc/PID/mem into its buffers and writes them from there. */
    READ,
    /**
     * A --leave-running dump into a directory of at most 96 MiB of anonymous memory: cryo reads the pages into
     * memory of its own while the tree is frozen, releases the tree, then writes them; any other dump as
     * {@link #READ}.
     */
    HELD
}
