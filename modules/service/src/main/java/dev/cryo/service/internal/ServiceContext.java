package dev.cryo.service.internal;

import java.io.PrintStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.cryo.parasite.Cancellation;
import dev.cryo.service.ServiceLog;

/**
 * What the sessions of one service share: the turn for tree operations, the running requests (cancelled
 * together when the service stops), the service's log and stderr, and how dumps are run.
 */
public final class ServiceContext {
    final TreeLock trees = new TreeLock();
    private final Set<Cancellation> running = ConcurrentHashMap.newKeySet();
    final ServiceLog log;
    final PrintStream err;
    final boolean warmUp;
    private volatile String stopping;

    /** {@code warmUp}: a dump or pre-dump rehearses on a decoy first, once per JVM and kind (DumpOptions.warmUp). */
    public ServiceContext(ServiceLog log, PrintStream err, boolean warmUp) {
        this.log = log;
        this.err = err;
        this.warmUp = warmUp;
    }

    /** A cancellation for a new request, cancelled at once if the service is stopping. */
    Cancellation begin() {
        Cancellation c = new Cancellation();
        running.add(c);
        String why = stopping;
        if (why != null) {
            c.cancel(why);
        }
        return c;
    }

    void end(Cancellation c) {
        running.remove(c);
    }

    boolean isStopping() {
        return stopping != null;
    }

    /** Cancels every running request and every later one. */
    public void stop(String why) {
        stopping = why;
        running.forEach(c -> c.cancel(why));
    }
}
