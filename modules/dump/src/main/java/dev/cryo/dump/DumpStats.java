package dev.cryo.dump;

/**
 * What a dump or pre-dump did and how long it took.
 *
 * @param frozenNanos        from the first task stopped to the last one released
 * @param memdumpNanos       time spent copying pages to the images
 * @param totalNanos         the whole dump
 * @param pagesScanned       pages of private memory looked at
 * @param pagesWritten       pages written to pages images
 * @param processes          processes dumped, zombies among them (a pre-dump counts only the live ones, the only ones with pages)
 * @param threads            threads dumped
 * @param pagesInParent      present pages not written again because the parent snapshot holds them unchanged
 * @param peakPinnedBytes    most page bytes held in pipes at once (splice mode), 0 otherwise
 * @param tracker            how written pages were told apart: "uffd-wp", "soft-dirty", or "none" (everything written)
 * @param freezer            how the tree was stopped: "cgroup2 PATH" (its own cgroup's freezer) or "ptrace" (task by task)
 * @param warmUpNanos        the decoy dump before it ({@link DumpOptions#warmUp()}), not part of {@code totalNanos}; 0 if none ran
 * @param pagesLazy          pages a dump with {@code --lazy-pages} left out of the images, for its lazy-pages daemon
 * @param lazyBytesServed    bytes of them the daemon took (GET answers)
 */
public record DumpStats(long frozenNanos, long memdumpNanos, long totalNanos, long pagesScanned, long pagesWritten,
                        int processes, int threads, long pagesInParent, long peakPinnedBytes, String tracker,
                        String freezer, long warmUpNanos, long pagesLazy, long lazyBytesServed) {
    /** The same figures, with the whole dump's time and the warm-up's measured by the caller around them. */
    public DumpStats withTimes(long total, long warmUp) {
        return new DumpStats(frozenNanos, memdumpNanos, total, pagesScanned, pagesWritten, processes, threads,
                pagesInParent, peakPinnedBytes, tracker, freezer, warmUp, pagesLazy, lazyBytesServed);
    }
}
