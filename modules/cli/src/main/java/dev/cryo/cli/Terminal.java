package dev.cryo.cli;

import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Io;

/** Whether cryo's output goes to a person at a terminal, who can be shown progress. */
public final class Terminal {
    private Terminal() {}

    /**
     * Whether {@code fd} (2 for stderr) is a terminal. {@code System.console()} answers for stdin and
     * stdout only, so this looks at what the fd is: a pseudo-terminal, a virtual console or the console.
     */
    public static boolean isTerminal(int fd) {
        if ("dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        try {
            String target = Io.readlink("/proc/self/fd/" + fd);
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (ErrnoException e) {
            return false;
        }
    }
}
