package dev.cryo.dump.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import dev.cryo.dump.DirtyTracker;
import dev.cryo.images.ImageStore;
import dev.cryo.pagepipe.SoftDirtyPages;
import dev.cryo.syscalls.Proc;

/**
 * A process's writes told by the soft-dirty bit: nothing lives in the process. Each pre-dump looks at the
 * bits, then clears them ({@link #rearm}), both while the tree is stopped. {@value #RECORD} names the
 * processes (pid and start time, against pid reuse) whose bits a snapshot cleared; only for those does the
 * next step trust a clear bit.
 */
final class SoftDirtyTracker implements TaskTracker {
    static final String RECORD = "cryo-soft-dirty.txt";

    /** Field 22 of /proc/PID/stat, clock ticks after boot: tells a reused pid apart. */
    private static final int START_TIME = 22;

    private final long started;
    private final boolean fresh;
    private final SoftDirtyPages pages;

    private SoftDirtyTracker(int pid, long started, boolean fresh) {
        this.started = started;
        this.fresh = fresh;
        this.pages = new SoftDirtyPages(pid);
    }

    /**
     * A tracker of {@code pid}, fresh unless {@code cleared} (the previous snapshot's record) says that
     * snapshot cleared this same process's bits.
     */
    static SoftDirtyTracker of(int pid, Map<Integer, Long> cleared) {
        long started = Proc.stat(pid).longField(START_TIME);
        Long recorded = cleared.get(pid);
        return new SoftDirtyTracker(pid, started, recorded == null || recorded != started);
    }

    /** For the final dump: the tracker of bits a pre-dump cleared in this same process; empty if none did. */
    static Optional<SoftDirtyTracker> continued(int pid, Map<Integer, Long> cleared) {
        SoftDirtyTracker t = of(pid, cleared);
        if (t.fresh) {
            t.close();
            return Optional.empty();
        }
        return Optional.of(t);
    }

    /** The process's start time, to record beside its pid for the next step. */
    long started() {
        return started;
    }

    @Override
    public DirtyTracker kind() {
        return DirtyTracker.SOFT_DIRTY;
    }

    @Override
    public boolean fresh() {
        return fresh;
    }

    /** Clears the bits: the look and the clear must both happen with the process stopped, the look first. */
    @Override
    public void rearm() {
        pages.clear();
    }

    @Override
    public SoftDirtyPages pages() {
        return pages;
    }

    @Override
    public void close() {
        pages.close();
    }

    /** The pid -> start time of the processes whose soft-dirty bits {@code store}'s snapshot cleared. */
    static Map<Integer, Long> readRecord(ImageStore store) {
        Map<Integer, Long> out = new LinkedHashMap<>();
        SnapshotRecords.read(store, RECORD, 2, f -> out.put(Integer.parseInt(f[0]), Long.parseLong(f[1])));
        return out;
    }

    static void writeRecord(ImageStore store, Map<Integer, Long> cleared) {
        StringBuilder text = new StringBuilder("# pid and start time of each process whose soft-dirty bits this snapshot cleared\n");
        cleared.forEach((pid, started) -> text.append(pid).append(' ').append(started).append('\n'));
        SnapshotRecords.write(store, RECORD, text);
    }
}
