package dev.cryo.service.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

import dev.cryo.bindings.Linux;
import dev.cryo.images.ImageFormatException;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Proc;

/** Turns what a request threw into the response's cr_errno and cr_errmsg. */
final class Failures {
    private Failures() {}

    /** The errno of the first {@link ErrnoException} among the causes, else 0 (the response then has no cr_errno). */
    static int errno(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ErrnoException e) {
                return e.errno();
            }
            if (c instanceof Proc.TaskGoneException) {
                return Linux.ESRCH();
            }
        }
        return 0;
    }

    /** An exception other than a {@link RequestFailure}, as a failure: one line, "internal error" for a bug of cryo's. */
    static RequestFailure of(Exception e) {
        String message = switch (e) {
            case Cancellation.CancelledException c -> c.getMessage();
            case ErrnoException x -> x.getMessage();
            case ImageFormatException f -> f.getMessage();
            case Proc.TaskGoneException g -> g.getMessage();
            case NoSuchFileException n -> n.getFile() + ": no such file or directory";
            case AccessDeniedException a -> a.getFile() + ": permission denied";
            case UncheckedIOException u -> u.getMessage();
            case IOException i -> i.getMessage() != null ? i.getMessage() : i.toString();
            default -> "internal error: " + e;
        };
        int errno = e instanceof Cancellation.CancelledException ? Linux.ECANCELED() : errno(e);
        return new RequestFailure(errno, message, e);
    }
}
