package dev.cryo.migrate;

import dev.cryo.syscalls.CryoFailure;

/** A live migration that failed: one line that says at which step, and where the tree is now. */
public final class MigrationException extends CryoFailure {
    public MigrationException(String message) {
        super(message);
    }

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
