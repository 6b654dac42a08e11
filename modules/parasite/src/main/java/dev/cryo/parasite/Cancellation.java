package dev.cryo.parasite;

/**
 * A request to stop long work early, set from another thread (a signal to cryo, a lost peer).
 * Work checks it between steps and unwinds, so every resource closes on the owning thread.
 */
public final class Cancellation {
    private volatile String reason;

    public void cancel(String why) {
        if (reason == null) {
            reason = why;
        }
    }

    public boolean isCancelled() {
        return reason != null;
    }

    /** Throws {@link CancelledException} if cancelled. */
    public void check() {
        String r = reason;
        if (r != null) {
            throw new CancelledException(r);
        }
    }

    public static final class CancelledException extends dev.cryo.syscalls.CryoFailure {
        public CancelledException(String reason) {
            super("cancelled: " + reason);
        }
    }
}
