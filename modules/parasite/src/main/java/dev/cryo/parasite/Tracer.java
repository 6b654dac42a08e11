package dev.cryo.parasite;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a whole piece of ptrace work on one dedicated platform thread.
 *
 * <p>A tracee belongs to the OS thread that seized it (any other thread gets ESRCH), so everything that
 * seizes, injects, cures and detaches must run here, never on a virtual thread or a pool that may hop.
 */
public final class Tracer {
    private Tracer() {}

    public static <T> T call(String name, Callable<T> work) throws Exception {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("cryo-tracer-" + name).unstarted(() -> {
            try {
                result.set(work.call());
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                // The tracer owns the tracees and must finish its cleanup; wait for it, then pass the interrupt on.
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable f = failure.get();
        if (f instanceof Exception e) {
            throw e;
        }
        if (f instanceof Error e) {
            throw e;
        }
        if (f != null) {
            throw new ExecutionException(f);
        }
        return result.get();
    }
}
