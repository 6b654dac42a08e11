package dev.cryo.service.internal;

import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.CryoFailure;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;

/** Turns what a request threw into the response's cr_errno and cr_errmsg. */
final class Failures {
    private Failures() {}

    /** The errno of the first {@link ErrnoException} among the causes (ESRCH for a task gone), else 0: no cr_errno. */
    static int errno(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ErrnoException e) {
                return e.errno();
            }
            if (c instanceof Proc.TaskGoneException) {
                return Kernel.ESRCH;
            }
            if (c instanceof Cancellation.CancelledException) {
                return Kernel.ECANCELED;
            }
        }
        return 0;
    }

    /** An exception other than a {@link RequestFailure}, as a failure: its one line, "internal error" for a bug of cryo's. */
    static RequestFailure of(Exception e) {
        return new RequestFailure(errno(e), CryoFailure.describe(e), e);
    }
}
