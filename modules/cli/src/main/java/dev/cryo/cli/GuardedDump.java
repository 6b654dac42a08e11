package dev.cryo.cli;

import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;

/**
 * A dump that a signal to cryo (SIGTERM, SIGINT) cancels instead of cutting short: a shutdown hook asks the
 * dump to stop and holds the JVM until it has unwound, so the target is cured and released, never left
 * frozen. The hook, not the failing command, reports the outcome, since the JVM halts as soon as it returns.
 */
public final class GuardedDump {
    static final long UNWIND_SECONDS = 60;

    /** The dump was stopped by a signal; the shutdown hook has said so already. */
    public static final class Signalled extends Failure {
        Signalled(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }

    private final Cancellation cancel = new Cancellation();
    private final CountDownLatch unwound = new CountDownLatch(1);
    private final PrintWriter err;
    private final int pid;
    private volatile boolean signalled;
    private volatile String outcome;

    private GuardedDump(int pid, PrintWriter err) {
        this.pid = pid;
        this.err = err;
    }

    public static DumpStats run(DumpOptions options, PrintWriter err) throws DumpException {
        return new GuardedDump(options.pid(), err).dump(options);
    }

    private DumpStats dump(DumpOptions options) throws DumpException {
        Thread hook = new Thread(this::onSignal, "cryo-signal");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return Dumper.dump(options, cancel);
        } catch (DumpException | RuntimeException e) {
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
                err.println("cryo: the dump of pid " + pid + " did not unwind within " + UNWIND_SECONDS
                        + " s; check that it runs (grep State /proc/" + pid + "/status)");
            } else if (outcome != null) {
                err.println("cryo: " + outcome);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        err.flush();
    }
}
