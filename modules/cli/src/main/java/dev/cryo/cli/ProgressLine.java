package dev.cryo.cli;

import java.io.PrintWriter;
import java.util.concurrent.TimeUnit;

import dev.cryo.dump.DumpListener;

/**
 * A one-line progress bar on stderr, redrawn in place with {@code \r}: shown only on a terminal and only
 * once the work has taken a second, so that quick commands and scripts see nothing. Closing erases it.
 * With {@code -v} it also prints the dump's log lines, each with the time since the command began.
 */
public final class ProgressLine implements DumpListener, AutoCloseable {
    private static final long SHOW_AFTER = TimeUnit.SECONDS.toNanos(1);
    private static final long REDRAW_EVERY = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final boolean terminal;
    private final boolean verbose;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean drawn;

    public ProgressLine(PrintWriter err, boolean terminal, boolean verbose) {
        this.err = err;
        this.terminal = terminal;
        this.verbose = verbose;
    }

    /** A progress line for stderr, drawn if stderr is a terminal. */
    public static ProgressLine onStderr(PrintWriter err, boolean verbose) {
        return new ProgressLine(err, Terminal.isTerminal(2), verbose);
    }

    @Override
    public synchronized void pages(long done, long total) {
        long now = System.nanoTime();
        if (!terminal || now - start < SHOW_AFTER || (now - lastDraw < REDRAW_EVERY && done < total)) {
            return;
        }
        lastDraw = now;
        drawn = true;
        int percent = total <= 0 ? 100 : (int) Math.min(100, done * 100 / total);
        int filled = percent * WIDTH / 100;
        err.print("\rcryo: pages [" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] "
                + percent + "% " + done + "/" + total + "\033[K");
        err.flush();
    }

    @Override
    public synchronized void log(String message) {
        if (verbose) {
            erase();
            err.printf("cryo: [%8.1f ms] %s%n", (System.nanoTime() - start) / 1e6, message);
            err.flush();
        }
    }

    @Override
    public synchronized void close() {
        erase();
    }

    private void erase() {
        if (drawn) {
            err.print("\r\033[K");
            err.flush();
            drawn = false;
        }
    }
}
