package dev.cryo.service.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import dev.cryo.parasite.Cancellation;

/**
 * One tree operation (dump, pre-dump, restore) at a time in a service, first come first served. They share
 * the JVM's ptrace waits and page buffers, and a tree's frozen time is shortest with the machine to
 * itself. A request waiting for its turn gives up as soon as it is cancelled (its client hung up).
 */
final class TreeLock {
    private final ReentrantLock lock = new ReentrantLock(true);

    /** Waits for the turn; the returned handle gives it back. */
    Turn acquire(Cancellation cancel) throws InterruptedException {
        while (!lock.tryLock(50, TimeUnit.MILLISECONDS)) {
            cancel.check();
        }
        return lock::unlock;
    }

    interface Turn extends AutoCloseable {
        @Override
        void close();
    }
}
