package dev.cryo.restore.internal;

import dev.cryo.syscalls.CryoFailure;

/**
 * Something of the restore that cannot be done as the images ask (a pid taken, a file that is not there, a
 * puppet that died, a kind of object cryo does not restore): the message says what, in one line;
 * {@link StepFailure} adds the task and the step.
 */
public final class RestoreError extends CryoFailure {
    private static final long serialVersionUID = 1L;

    public RestoreError(String message) {
        super(message);
    }

    public RestoreError(String message, Throwable cause) {
        super(message, cause);
    }
}
