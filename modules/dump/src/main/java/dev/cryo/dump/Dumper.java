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
}
