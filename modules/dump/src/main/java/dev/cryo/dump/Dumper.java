package dev.cryo.dump;

import dev.cryo.parasite.Cancellation;

/**
 * Dumps a running process tree to CRIU-format images.
 *
 * <pre>{@code
 * DumpStats s = Dumper.dump(DumpOptions.of(pid, Path.of("/tmp/img")).withLeaveRunning(true), new Cancellation());
 * }</pre>
 *
 * The tree is never left frozen or infected: every way out (success, error, cancellation) cures and
 * releases it. A dump that fails leaves no images behind.
 */
public final class Dumper {
    private Dumper() {}

    public static DumpStats dump(DumpOptions options, Cancellation cancel) throws DumpException {
        return dev.cryo.dump.internal.DumpRun.run(options, cancel);
    }

    /**
     * Copies the tree's memory while it keeps running (a step of an iterative migration): the pages, linked
     * to {@code prevImagesDir}'s snapshot when given, with written pages tracked for the next step.
     * {@code leaveRunning} and {@code shellJob} are ignored: a pre-dump always leaves the tree running.
     */
    public static DumpStats preDump(DumpOptions options, Cancellation cancel) throws DumpException {
        return dev.cryo.dump.internal.PreDumpRun.run(options, cancel);
    }

    /**
     * Starts the warm-up of a dump ({@code preDump} null, with {@code leaveRunning} as the real one) or of a
     * pre-dump in that mode on a thread of its own, now, so that it runs beside what comes before the real
     * step (a fresh JVM's start, parsing the command line); the step, asked for a warm-up of the same kind,
     * then waits for it to end instead of running it (see {@link DumpOptions#warmUp()}), and its stats' warm-up
     * time is that wait. {@code listener} hears the decoy's line, from that thread.
     */
    public static void warmUpEarly(PreDumpMode preDump, boolean leaveRunning, DumpListener listener) {
        dev.cryo.dump.internal.WarmUp.early(preDump, leaveRunning, listener);
    }
}
