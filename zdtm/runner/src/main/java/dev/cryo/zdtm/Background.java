package dev.cryo.zdtm;

import java.util.concurrent.TimeUnit;

/**
 * A cryo command that runs while the cycle goes on (a lazy-pages daemon, a dump serving its lazy pages), in a
 * thread of its own, in a network namespace if one is named; its outcome is taken at the end.
 */
final class Background implements AutoCloseable {
    private final Thread thread;
    private final String command;
    private volatile String output;
    private volatile String failure;

    private Background(Cryo cryo, String netns, String[] args) {
        this.command = "cryo " + String.join(" ", args);
        this.thread = new Thread(() -> {
            try {
                output = netns == null ? cryo.run(args) : cryo.runInNetns(netns, args);
            } catch (Cryo.CommandFailed e) {
                failure = e.getMessage();
            } catch (RuntimeException e) {
                failure = command + " broke: " + e;
            }
        }, "zdtm-" + args[0]);
        thread.setDaemon(true);
    }

    /** Starts {@code cryo ARGS...} (in network namespace file {@code netns}, or null for this one). */
    static Background start(Cryo cryo, String netns, String... args) {
        Background b = new Background(cryo, netns, args);
        b.thread.start();
        return b;
    }

    boolean running() {
        return thread.isAlive();
    }

    /** Waits for the command to end ({@code seconds} at most); null when it ended well, else why not. */
    String awaitEnd(long seconds) {
        try {
            thread.join(TimeUnit.SECONDS.toMillis(seconds));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while " + command + " ran";
        }
        if (thread.isAlive()) {
            return command + " still runs " + seconds + " s on";
        }
        return failure;
    }

    /** What it printed on stdout, once it has ended. */
    String output() {
        return output == null ? "" : output;
    }

    /** A command that does not end by itself is left to the JVM's end (its thread is a daemon): nothing else can stop it. */
    @Override
    public void close() {
        awaitEnd(0);
    }
}
