package dev.cryo.pagexfer;

import dev.cryo.syscalls.CryoFailure;

/**
 * A page-server session failed: the peer broke the protocol, went away, or stalled; or the server could not
 * keep what it received. The message is one line for the user, naming the peer and the fault, e.g.
 * {@code 10.0.0.2:41234: pages for pagemap-7.img, which was never opened}. Also TLS files that cannot be used
 * and a directory a server cannot receive into.
 */
public final class PageServerException extends CryoFailure {
    private static final long serialVersionUID = 1L;

    public PageServerException(String message) {
        super(message);
    }

    public PageServerException(String message, Throwable cause) {
        super(message, cause);
    }
}
