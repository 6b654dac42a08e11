package dev.cryo.pagepipe;

import dev.cryo.syscalls.CryoFailure;

/** Pages that were to be copied are gone: the task unmapped them, or exited, while cryo read them. */
public final class PagesGoneException extends CryoFailure {
    private static final long serialVersionUID = 1L;

    public PagesGoneException(String message) {
        super(message);
    }
}
