package dev.cryo.restore.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import dev.cryo.restore.RestoreStats;

/**
 * The restore's steps ({@link StepFailure#run}), each timed: what {@code --display-stats} lists, in the order
 * the steps first ran, with the time summed over every task a step ran for. One restore's; the steps before the
 * tracer thread starts and those on it never overlap.
 */
final class StepClock {
    private final Map<String, long[]> steps = new LinkedHashMap<>(); // step -> {nanos, times}

    <T> T run(int id, String step, Supplier<T> work) {
        long start = System.nanoTime();
        try {
            return StepFailure.run(id, step, work);
        } finally {
            add(step, System.nanoTime() - start);
        }
    }

    void run(int id, String step, Runnable work) {
        run(id, step, () -> {
            work.run();
            return null;
        });
    }

    /** Counts {@code nanos} of work that is not a {@link StepFailure} step of its own (the release). */
    synchronized void add(String step, long nanos) {
        long[] t = steps.computeIfAbsent(step, k -> new long[2]);
        t[0] += nanos;
        t[1]++;
    }

    synchronized List<RestoreStats.Step> steps() {
        List<RestoreStats.Step> out = new ArrayList<>();
        steps.forEach((name, t) -> out.add(new RestoreStats.Step(name, t[0], (int) t[1])));
        return List.copyOf(out);
    }
}
