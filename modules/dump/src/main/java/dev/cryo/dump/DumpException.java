package dev.cryo.dump;

/** A dump that could not be done; the message is one line for the user, naming what and where. */
public class DumpException extends Exception {
    public DumpException(String message) {
        super(message);
    }

    public DumpException(String message, Throwable cause) {
        super(message, cause);
    }
}
