package dev.cryo.images.remote;

import dev.cryo.syscalls.CryoFailure;

/**
 * Images over sockets failed: a peer broke the protocol (a bad name, a size beyond the one announced, a
 * frame that is no frame), went away, stalled, refused a step, or has no such image. The message is one line
 * that names the peer and the image, e.g. {@code 10.0.0.2:41234: pages-1.img of /x/pre1: the closing mark
 * says 8192 bytes, 4096 came}.
 */
public final class RemoteImageException extends CryoFailure {
    private static final long serialVersionUID = 1L;

    public RemoteImageException(String message) {
        super(message);
    }

    public RemoteImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
