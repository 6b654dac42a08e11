package dev.cryo.restore.internal;

import java.util.function.Supplier;

import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.StopPoints;
import dev.cryo.syscalls.CryoFailure;

/** A restore step that failed in one task: the message names the task, the step and the reason, on one line. */
final class StepFailure extends CryoFailure {
    StepFailure(int id, String step, Throwable cause) {
        super((id > 0 ? "pid " + id + ", " : "") + step + ": " + describe(cause), cause);
    }

    /** Runs {@code work} as step {@code step} of task {@code id} (0: of the whole tree). */
    static <T> T run(int id, String step, Supplier<T> work) {
        StopPoints.reach("restore:" + step);
        try {
            return work.get();
        } catch (StepFailure | Cancellation.CancelledException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new StepFailure(id, step, e);
        }
    }

    static void run(int id, String step, Runnable work) {
        run(id, step, () -> {
            work.run();
            return null;
        });
    }

}
