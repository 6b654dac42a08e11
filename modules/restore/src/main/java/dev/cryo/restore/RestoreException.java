package dev.cryo.restore;

/** A restore that could not be done; the message is one line for the user. Nothing it created is left running. */
public class RestoreException extends Exception {
    public RestoreException(String message) {
        super(message);
    }

    public RestoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
