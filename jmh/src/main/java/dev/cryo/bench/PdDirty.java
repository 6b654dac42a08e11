package dev.cryo.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;

/** Drives zdtm/programs/pd_dirty.c: each SIGUSR2 makes it write its share of pages, then DIR/dirtied. */
final class PdDirty {
    private PdDirty() {}

    /** Asks for generation {@code generation} (1, 2, ...) of writes and waits until the target has made it. */
    static void dirty(Target t, int generation) throws Exception {
        Signals.kill(t.pid(), Kernel.SIGUSR2);
        Path done = t.dir().resolve("dirtied");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String want = Integer.toString(generation);
        while (!(Files.exists(done) && Files.readString(done).trim().equals(want))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("pd_dirty (pid " + t.pid() + ") did not write generation " + generation + " within 60 s");
            }
            Thread.sleep(2);
        }
    }
}
