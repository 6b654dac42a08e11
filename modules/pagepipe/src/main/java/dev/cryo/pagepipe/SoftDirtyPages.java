package dev.cryo.pagepipe;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * Which pages a task wrote since the last step, where the kernel keeps the soft-dirty bit
 * (CONFIG_MEM_SOFT_DIRTY): the kernel sets it in the page table entry on every write, and in every mapping
 * made, moved or grown since the bits were last cleared; writing "4" to /proc/PID/clear_refs clears them
 * for the task's whole mm. Nothing lives inside the task, so nothing has to be registered or closed there.
 *
 * <p>The look ({@link #written}) and the {@link #clear} must happen with the task stopped, the look first:
 * a write between them would be cleared without having been seen.
 */
public final class SoftDirtyPages implements WriteTracking {
    private static final byte[] CLEAR_SOFT_DIRTY = "4".getBytes(StandardCharsets.US_ASCII);

    private final int pid;
    private final PresentPages pages;

    public SoftDirtyPages(int pid) {
        this.pid = pid;
        this.pages = new PresentPages(pid);
    }

    /** Every mapping is: the kernel keeps the bit for the whole mm, and a new mapping reads as written. */
    @Override
    public boolean isTracked(long start, long end) {
        return true;
    }

    /** Nothing to register; until the next {@link #clear}, every page of a new mapping reads as written. */
    @Override
    public boolean register(long start, long end) {
        return true;
    }

    @Override
    public boolean written(long start, long end, List<PageRange> out) {
        pages.softDirtyPages(start, end, out);
        return true;
    }

    /** Clears the soft-dirty bit of every page and mapping of the task: the next look sees writes from now on. */
    public void clear() {
        try (Fd refs = Io.open("/proc/" + pid + "/clear_refs", Kernel.O_WRONLY); Arena arena = Arena.ofConfined()) {
            Io.writeFully(refs.fd(), arena.allocateFrom(ValueLayout.JAVA_BYTE, CLEAR_SOFT_DIRTY));
        }
    }

    @Override
    public void close() {
        pages.close();
    }
}
