package dev.cryo.cli;

/** A command could not do what was asked; the message is the one line the user sees after {@code cryo: }. */
public class Failure extends dev.cryo.syscalls.CryoFailure {
    public Failure(String message) {
        super(message);
    }

    public Failure(String message, Throwable cause) {
        super(message, cause);
    }
}
