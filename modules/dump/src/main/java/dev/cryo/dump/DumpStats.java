package dev.cryo.dump;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import dev.cryo.parasite.Freezer;

/**
 * What a dump or pre-dump did and how long it took; built step by step as the run goes ({@link Builder}).
 *
 * @param frozenNanos     from the first task stopped to the last one released
 * @param memdumpNanos    time spent copying pages while the tree was frozen: to the images, or into cryo's memory
 *                        when they are written after the release ({@code memwriteNanos})
 * @param totalNanos      the whole dump
 * @param warmUpNanos     how long the step waited for the decoy dump before it ({@link DumpOptions#warmUp()}; all of it, or what
 *                        was left of one started early), not part of {@code totalNanos}; 0 if none ran
 * @param freezer         how the tree was stopped
 * @param processes       processes dumped, zombies among them (a pre-dump counts only the live ones, the only ones with pages)
 * @param threads         threads dumped
 * @param pages           the pages of each process (pid order as dumped)
 * @param peakPinnedBytes most page bytes held in pipes at once (splice mode), 0 otherwise
 * @param trackers        how written pages were told apart; empty when nothing was (every page written)
 * @param pagesLazy       pages a dump with {@code --lazy-pages} left out of the images, for its lazy-pages daemon
 * @param lazyBytesServed bytes of them the daemon took (GET answers)
 * @param memwriteNanos   time spent after the release finishing the writes of pages copied while frozen; 0 if none were
 */
public record DumpStats(long frozenNanos, long memdumpNanos, long totalNanos, long warmUpNanos, Freezer freezer,
                        int processes, int threads, Map<Integer, Pages> pages, long peakPinnedBytes,
                        Set<DirtyTracker> trackers, long pagesLazy, long lazyBytesServed, long memwriteNanos) {
    public DumpStats {
        pages = Collections.unmodifiableMap(new LinkedHashMap<>(pages));
        trackers = Collections.unmodifiableSet(trackers.isEmpty() ? EnumSet.noneOf(DirtyTracker.class) : EnumSet.copyOf(trackers));
    }

    /**
     * The pages of one process.
     *
     * @param scanned  pages of private memory looked at
     * @param written  pages written to pages images
     * @param inParent present pages not written again because the parent snapshot holds them unchanged
     */
    public record Pages(long scanned, long written, long inParent) {}

    public long pagesScanned() {
        return pages.values().stream().mapToLong(Pages::scanned).sum();
    }

    public long pagesWritten() {
        return pages.values().stream().mapToLong(Pages::written).sum();
    }

    public long pagesInParent() {
        return pages.values().stream().mapToLong(Pages::inParent).sum();
    }

    /** The trackers' labels ({@code uffd-wp}, {@code soft-dirty}), or {@code none}. */
    public String trackerLabel() {
        return trackers.isEmpty() ? "none" : trackers.stream().map(DirtyTracker::label).collect(Collectors.joining("+"));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Filled by a run as it goes: the tree when released, each process's pages as planned, the times at the end. */
    public static final class Builder {
        private long frozenNanos;
        private long memdumpNanos;
        private long totalNanos;
        private long warmUpNanos;
        private Freezer freezer = Freezer.PTRACE;
        private int processes;
        private int threads;
        private final Map<Integer, Pages> pages = new LinkedHashMap<>();
        private long peakPinnedBytes;
        private final Set<DirtyTracker> trackers = EnumSet.noneOf(DirtyTracker.class);
        private long pagesLazy;
        private long lazyBytesServed;
        private long memwriteNanos;

        private Builder() {}

        /** The tree, once released: how long it was stopped, how, and what it held. */
        public Builder tree(long frozenNanos, Freezer freezer, int processes, int threads) {
            this.frozenNanos = frozenNanos;
            this.freezer = freezer;
            this.processes = processes;
            this.threads = threads;
            return this;
        }

        public Builder memdump(long nanos) {
            this.memdumpNanos = nanos;
            return this;
        }

        /** Pages copied while frozen and written after the release: the time of that write, after the release. */
        public Builder memwrite(long nanos) {
            this.memwriteNanos = nanos;
            return this;
        }

        /** The whole run's time and the warm-up's before it, measured around the run. */
        public Builder times(long totalNanos, long warmUpNanos) {
            this.totalNanos = totalNanos;
            this.warmUpNanos = warmUpNanos;
            return this;
        }

        public Builder pages(int pid, long scanned, long written, long inParent) {
            pages.put(pid, new Pages(scanned, written, inParent));
            return this;
        }

        /** Adds the peak of one process's pipes (splice mode). */
        public Builder pinned(long peakBytes) {
            this.peakPinnedBytes += peakBytes;
            return this;
        }

        /** A process's written pages were told apart by {@code t}. */
        public Builder tracker(DirtyTracker t) {
            trackers.add(t);
            return this;
        }

        /** --lazy-pages: the pages left out of the images, and the bytes of them the daemon took. */
        public Builder lazy(long pages, long bytesServed) {
            this.pagesLazy = pages;
            this.lazyBytesServed = bytesServed;
            return this;
        }

        public DumpStats build() {
            return new DumpStats(frozenNanos, memdumpNanos, totalNanos, warmUpNanos, freezer, processes, threads, pages,
                    peakPinnedBytes, trackers, pagesLazy, lazyBytesServed, memwriteNanos);
        }
    }
}
