package dev.cryo.migrate.internal;

/**
 * The bytes the cache holds in its pages images' memfds, now and at their most. The cache writes those files
 * without mapping their pages ({@link ImageBytes#appendFromPipe}), so its resident set does not show them:
 * the daemon's report adds this peak to its peak RSS.
 */
final class HeldInFiles {
    private long now;
    private long peak;

    synchronized void add(long bytes) {
        now += bytes;
        peak = Math.max(peak, now);
    }

    synchronized long peak() {
        return peak;
    }
}
