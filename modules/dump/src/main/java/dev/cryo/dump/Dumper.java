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
}
