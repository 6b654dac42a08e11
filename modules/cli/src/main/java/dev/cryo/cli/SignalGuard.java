package dev.cryo.cli;

import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.cryo.parasite.Cancellation;

/**
 * Long work on other processes (a dump, a pre-dump, a restore) that a signal to cryo (SIGTERM, SIGINT)
 * cancels instead of cutting short: a shutdown hook asks the work to stop and holds the JVM until it has
 * unwound, so a target is cured and released, or a half-restored tree killed, never left behind. The hook,
 * not the failing command, reports the outcome, since the JVM halts as soon as it returns.
 */
public final class SignalGuard {
    static final long UNWIND_SECONDS = 60;

    /** Work that checks a {@link Cancellation} between its steps. */
    @FunctionalInterface
    public interface Work<T, E extends Exception> {
        T run(Cancellation cancel) throws E;
    }

    /** The work was stopped by a signal; the shutdown hook has said so already. */
    public static final class Signalled extends Failure {
        Signalled(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }

    private final Cancellation cancel = new Cancellation();
    private final CountDownLatch unwound = new CountDownLatch(1);
    private final PrintWriter err;
    private final String what;
    private volatile boolean signalled;
    private volatile String outcome;

    private SignalGuard(PrintWriter err, String what) {
        this.err = err;
        this.what = what;
    }

    /** Runs {@code work}; {@code what} names it in the message of a work that does not unwind in time. */
    public static <T, E extends Exception> T run(PrintWriter err, String what, Work<T, E> work) throws E {
        return new SignalGuard(err, what).guard(work);
    }

    private <T, E extends Exception> T guard(Work<T, E> work) throws E {
        Thread hook = new Thread(this::onSignal, "cryo-signal");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return work.run(cancel);
        } catch (Exception e) {
            if (signalled) {
                outcome = e.getMessage();
                throw new Signalled(e);
            }
            throw e;
        } finally {
            unwound.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it waits for us and reports
            }
        }
    }

    private void onSignal() {
        signalled = true;
        cancel.cancel("cryo received a signal");
        try {
            if (!unwound.await(UNWIND_SECONDS, TimeUnit.SECONDS)) {
                err.println("cryo: " + what + " did not unwind within " + UNWIND_SECONDS + " s");
            } else if (outcome != null) {
                err.println("cryo: " + outcome);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        err.flush();
    }
}
