package dev.cryo.lazypages;

import dev.cryo.syscalls.CryoFailure;

/** A lazy-pages daemon or handoff that cannot go on; the message is the user's one line. */
public final class LazyPagesException extends CryoFailure {
    private static final long serialVersionUID = 1L;

    public LazyPagesException(String message) {
        super(message);
    }

    public LazyPagesException(String message, Throwable cause) {
        super(message, cause);
    }
}
