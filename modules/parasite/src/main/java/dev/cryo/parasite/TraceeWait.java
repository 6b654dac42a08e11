package dev.cryo.parasite;

import java.io.File;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Wait;

/**
 * Waiting for the next state change of a thread cryo drives. A blocking wait4 on the thread, after a short
 * spin (an injected call is usually over within microseconds), with a watchdog for the one case a blocking
 * wait would never end: when a traced process is killed, its leader's exit is reported only once every
 * other traced thread of it has been reaped, and those may be threads no one waits for (cryo had run nothing
 * in them yet). The watchdog, a daemon thread of cryo's (wait4 reaps the tracees of any thread of the
 * process), reaps such dead threads of a process whose thread has been waited for a while.
 */
final class TraceeWait {
    /** How many times a wait looks without blocking first. */
    private static final int SPINS = 100;
    private static final long WATCH_EVERY = TimeUnit.MILLISECONDS.toNanos(20);

    /** Waits under way: the waiting thread's id, to {pid, tid, since}. */
    private static final Map<Long, long[]> waits = new ConcurrentHashMap<>();
    private static Thread watchdog;

    private TraceeWait() {}

    /** The next state change of {@code t}; an exit that the watchdog reaped reads as the thread gone. */
    static Wait.Status next(Traced t) {
        int tid = t.tid();
        for (int i = 0; i < SPINS; i++) {
            Wait.Status st = Wait.waitPid(tid, Kernel.__WALL | Kernel.WNOHANG);
            if (st != null) {
                return st;
            }
            Thread.onSpinWait();
        }
        long me = Thread.currentThread().threadId();
        waits.put(me, new long[] {t.pid(), tid, System.nanoTime()});
        startWatchdog();
        try {
            return Wait.waitAll(tid);
        } catch (ErrnoException e) {
            if (e.is(Errno.ECHILD)) {
                throw t.gone(new Wait.Status(tid, Kernel.SIGKILL)); // reaped by the watchdog: it died
            }
            throw e;
        } finally {
            waits.remove(me);
        }
    }

    private static synchronized void startWatchdog() {
        if (watchdog == null) {
            watchdog = Thread.ofPlatform().daemon().name("cryo-tracee-watchdog").start(TraceeWait::watch);
        }
    }

    private static void watch() {
        while (true) {
            LockSupport.parkNanos(WATCH_EVERY);
            long now = System.nanoTime();
            for (long[] w : waits.values()) {
                if (now - w[2] > WATCH_EVERY) {
                    reapDeadThreads((int) w[0], (int) w[1]);
                }
            }
        }
    }

    /** Reaps the exits of the other threads of {@code pid} that cryo traces and that have died (zombies). */
    private static void reapDeadThreads(int pid, int waiting) {
        File[] tasks = new File("/proc/" + pid + "/task").listFiles();
        if (tasks == null) {
            return;
        }
        for (File task : tasks) {
            int tid;
            try {
                tid = Integer.parseInt(task.getName());
            } catch (NumberFormatException e) {
                continue;
            }
            try {
                // Exits only: a stop it holds (a new thread's first) belongs to whoever waits for that thread.
                if (tid != waiting && Wait.exitedUnreaped(tid)) {
                    Wait.waitPid(tid, Kernel.__WALL | Kernel.WNOHANG);
                }
            } catch (ErrnoException e) {
                // reaped meanwhile, or not cryo's
            }
        }
    }
}
