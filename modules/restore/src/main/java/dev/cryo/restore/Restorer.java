package dev.cryo.restore;

import dev.cryo.parasite.Cancellation;

/**
 * Restores a process tree from CRIU-format images into puppets driven by ptrace; the JVM never forks.
 *
 * <pre>{@code
 * RestoreStats s = Restorer.restore(RestoreOptions.of(Path.of("/tmp/img")).withDetached(true), new Cancellation());
 * }</pre>
 *
 * A restore that fails kills every process it created.
 */
public final class Restorer {
    private Restorer() {}

    public static RestoreStats restore(RestoreOptions options, Cancellation cancel) throws RestoreException {
        return dev.cryo.restore.internal.RestoreRun.run(options, cancel);
    }
}
