package dev.cryo.pagexfer;

/**
 * A page-server session failed: the peer broke the protocol, went away, or stalled; or the server could not
 * keep what it received. The message is one line for the user, naming the peer and the fault, e.g.
 * {@code 10.0.0.2:41234: pages for pagemap-7.img, which was never opened}.
 */
public final class PageServerException extends RuntimeException {
    public PageServerException(String message) {
        super(message);
    }

    public PageServerException(String message, Throwable cause) {
        super(message, cause);
    }
}
