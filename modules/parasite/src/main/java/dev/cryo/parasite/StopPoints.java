package dev.cryo.parasite;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;
import dev.cryo.syscalls.Syscall;

/**
 * Named points in cryo's work with its targets, where a test can make cryo stop, to kill it there and see
 * that nothing it held is harmed. Nothing happens unless asked: with the system property
 * {@code cryo.stop-at=POINT#N} the N-th arrival at POINT (1 without {@code #N}) sends SIGSTOP to cryo's
 * own process, which a test then sees stopped (state T) and kills; a test in the JVM itself can
 * {@link #watch} instead. Points: {@code frozen} (the tree seized), {@code infect} (the cure code placed),
 * {@code frame} (a thread's cure frame written), {@code call-set} (a call's registers loaded),
 * {@code call-entry}, {@code call-exit}, {@code batch-set} (the registers of a loop of queries loaded),
 * {@code batch-stop} (the loop's stop reached), {@code cure-thread} (a thread back to its own registers),
 * {@code cure-unmapped}, {@code cured}, {@code pages} (a process's pages written), {@code released}; and the
 * restore's {@code restore:STEP} (each step, as its failures name it), {@code restore:release},
 * {@code restore:released}.
 */
public final class StopPoints {
    private static final String PROPERTY = "cryo.stop-at";
    private static final Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
    private static volatile Consumer<String> watcher = fromProperty();

    private StopPoints() {}

    /** Marks that cryo has reached {@code point}. */
    public static void reach(String point) {
        Consumer<String> w = watcher;
        if (w != null) {
            w.accept(point);
        }
    }

    /** Calls {@code w} at every point reached (null: stop watching); for tests. */
    public static void watch(Consumer<String> w) {
        watcher = w;
    }

    private static Consumer<String> fromProperty() {
        String spec = System.getProperty(PROPERTY);
        if (spec == null || spec.isBlank()) {
            return null;
        }
        int hash = spec.lastIndexOf('#');
        String point = hash < 0 ? spec : spec.substring(0, hash);
        int nth = hash < 0 ? 1 : Integer.parseInt(spec.substring(hash + 1));
        return p -> {
            if (p.equals(point) && seen.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet() == nth) {
                // To this very thread: it stops on its way out of tgkill, before it does anything more (a
                // signal to the process would be taken by another thread, while this one goes on for a while).
                int self = (int) ProcessHandle.current().pid();
                Signals.tgkill(self, (int) Syscall.call("gettid", Kernel.__NR_gettid), Kernel.SIGSTOP);
            }
        };
    }
}
