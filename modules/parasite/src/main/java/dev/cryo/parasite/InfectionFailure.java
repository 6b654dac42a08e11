package dev.cryo.parasite;

import dev.cryo.syscalls.CryoFailure;

/** cryo cannot run its calls in a task as it is (no room for the parasite's area, a call that ended elsewhere). */
public final class InfectionFailure extends CryoFailure {
    private static final long serialVersionUID = 1L;

    public InfectionFailure(String message) {
        super(message);
    }
}
