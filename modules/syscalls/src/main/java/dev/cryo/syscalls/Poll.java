package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.pollfd;

/** poll(2) over a few fds: which of the asked events (and POLLHUP, POLLERR, POLLNVAL) each one has. */
public final class Poll {
    private Poll() {}

    /**
     * Waits until one of {@code fds} has one of its {@code events}, or {@code timeoutMillis} passes (-1:
     * no limit); returns each fd's revents (all 0 after a timeout). A signal restarts the wait.
     */
    public static short[] poll(int[] fds, short[] events, int timeoutMillis) {
        if (fds.length != events.length) {
            throw new IllegalArgumentException(fds.length + " fds, " + events.length + " event masks");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment set = pollfd.allocateArray(fds.length, a);
            for (int i = 0; i < fds.length; i++) {
                MemorySegment one = pollfd.asSlice(set, i);
                pollfd.fd(one, fds[i]);
                pollfd.events(one, events[i]);
                pollfd.revents(one, (short) 0);
            }
            while (true) {
                try {
                    Syscall.call("poll", Linux.__NR_poll(), set.address(), fds.length, timeoutMillis);
                    break;
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EINTR)) {
                        throw e;
                    }
                }
            }
            short[] revents = new short[fds.length];
            for (int i = 0; i < fds.length; i++) {
                revents[i] = pollfd.revents(pollfd.asSlice(set, i));
            }
            return revents;
        }
    }
}
