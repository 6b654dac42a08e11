package dev.cryo.service.internal;

/**
 * A request that is answered with {@code success = false}: {@code errno} goes to the response's
 * {@code cr_errno} (0: none), the message, one line for the user, to its {@code cr_errmsg}.
 */
public final class RequestFailure extends Exception {
    private final int errno;

    public RequestFailure(int errno, String message) {
        super(message);
        this.errno = errno;
    }

    public RequestFailure(int errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
