package dev.cryo.syscalls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/**
 * A failure cryo expects (a task that exited, a call the kernel refused, a corrupt image, a step of a
 * restore that failed...), whose message is one line for the user, naming what and where. Every such
 * failure is one of these; anything else that reaches the user is a bug in cryo. {@link #reason} is the one
 * place that turns a failure into the user's line.
 */
public abstract class CryoFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    protected CryoFailure(String message) {
        super(message);
    }

    protected CryoFailure(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * The one-line reason of {@code e} for a user: the message of a failure cryo expects (one of these, or an
     * I/O error), or null for anything else, which means a bug in cryo.
     */
    public static String reason(Throwable e) {
        return switch (e) {
            case CryoFailure f -> f.getMessage();
            case UncheckedIOException u -> u.getCause() instanceof IOException io && u.getMessage() == null ? reason(io) : u.getMessage();
            case NoSuchFileException n -> n.getFile() + ": no such file or directory";
            case AccessDeniedException a -> a.getFile() + ": permission denied";
            case IOException i -> i.getMessage() != null ? i.getMessage() : i.toString();
            default -> null;
        };
    }

    /** {@link #reason}, or for a bug in cryo the exception itself, marked as such. */
    public static String describe(Throwable e) {
        String r = reason(e);
        return r != null ? r : "internal error: " + e;
    }
}
