package dev.cryo.parasite;

import dev.cryo.syscalls.Wait;

/**
 * A thread that cryo holds in a ptrace stop and runs injected system calls in: a thread of a dumped tree
 * ({@link Tracee}) or a restore's puppet. What each does with the stops that an injected call did not ask
 * for is its own.
 */
public interface Traced {
    /** The thread group (process) the thread belongs to, as cryo sees it. */
    int pid();

    int tid();

    /** The thread exited or was killed during an injected call: the exception to throw. */
    RuntimeException gone(Wait.Status status);

    /**
     * A stop that is not the call's own: a signal (never delivered now: the thread may keep it to send again
     * at release), a ptrace event (a fork made by the call), a PTRACE_INTERRUPT stop. The call continues.
     */
    void unexpected(Wait.Status status);
}
