package dev.cryo.syscalls;

import java.util.Arrays;
import java.util.stream.Collectors;

/** A system call failed: names the call, its arguments and the errno, e.g. {@code ptrace(PTRACE_SEIZE, 4242): no such process (ESRCH)}. */
public final class ErrnoException extends CryoFailure {
    private final String call;
    private final int errno;

    public ErrnoException(String call, long[] args, int errno) {
        super(call + "(" + Arrays.stream(args).mapToObj(ErrnoException::arg).collect(Collectors.joining(", ")) + "): "
                + Errno.describe(errno));
        this.call = call;
        this.errno = errno;
    }

    private static String arg(long v) {
        return (v > -4096 && v < 65536) ? Long.toString(v) : "0x" + Long.toHexString(v);
    }

    /** The call's name as given by the caller, e.g. {@code "ptrace(PTRACE_SEIZE)"}. */
    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }

    public boolean is(Errno e) {
        return e.number() == errno;
    }

    /** The reason alone, e.g. {@code no such process (ESRCH)}, for one-line user messages. */
    public String reason() {
        return Errno.describe(errno);
    }
}
