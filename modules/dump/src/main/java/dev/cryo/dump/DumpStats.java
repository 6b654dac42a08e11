package dev.cryo.dump;

/**
 * What a dump did and how long it took.
 *
 * @param frozenNanos  from the first task stopped to the last one released
 * @param memdumpNanos time spent copying pages to the images
 * @param totalNanos   the whole dump
 * @param pagesScanned pages of private memory looked at
 * @param pagesWritten pages written to pages images
 * @param processes    processes dumped
 * @param threads      threads dumped
 */
public record DumpStats(long frozenNanos, long memdumpNanos, long totalNanos, long pagesScanned, long pagesWritten,
                        int processes, int threads) {}
