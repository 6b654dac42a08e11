package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

import dev.cryo.bindings.Linux;

/**
 * The error path of every call: the kernel's errno, captured at the call on the calling thread, becomes an
 * {@link ErrnoException} that names the call, its arguments and the errno by name.
 */
class SyscallErrorsTest {
    /**
     * The pid of a process that this test started and reaped: the kernel hands pids out in turn, so it is not
     * given again before the counter wraps around pid_max. (pid_max + 1 is no such pid for sure: a run here
     * found a live process above the pid_max it had read.)
     */
    static int noSuchPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertThat(p.waitFor()).isZero();
        return Math.toIntExact(p.pid());
    }

    /** How ErrnoException shows an argument: small numbers in decimal, the rest (addresses, flags) in hex. */
    private static String arg(long v) {
        return (v > -4096 && v < 65536) ? Long.toString(v) : "0x" + Long.toHexString(v);
    }

    @Test
    void openOfAMissingPathIsENOENTNamingThePathItsArgumentsAndTheErrno() {
        String missing = "/proc/self/no-such-file-" + ProcessHandle.current().pid();
        assertThatThrownBy(() -> Io.open(missing, Linux.O_RDONLY()))
                .isInstanceOfSatisfying(ErrnoException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Linux.ENOENT());
                    assertThat(e.is(Errno.ENOENT)).isTrue();
                    assertThat(e.is(Errno.EPERM)).isFalse();
                    assertThat(e.call()).isEqualTo("openat(" + missing + ")");
                    assertThat(e.reason()).isEqualTo("no such file or directory (ENOENT)");
                    // dirfd AT_FDCWD, the path's address, the flags with O_CLOEXEC added, the mode
                    assertThat(e.getMessage()).matches("\\Q" + "openat(" + missing + ")(" + Linux.AT_FDCWD()
                            + ", \\E0x[0-9a-f]+\\Q, " + arg(Linux.O_RDONLY() | Linux.O_CLOEXEC()) + ", 0): no such file or directory (ENOENT)\\E");
                });
    }

    @Test
    void ptraceOfAPidThatCannotExistIsESRCH() throws Exception {
        int pid = noSuchPid();
        assertThatThrownBy(() -> Ptrace.seize(pid, 0))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.is(Errno.ESRCH)).isTrue())
                .hasMessage("ptrace(PTRACE_SEIZE, %d)(%d, %s, 0, 0): no such process (ESRCH)", pid, Linux.PTRACE_SEIZE(), arg(pid));
    }

    @Test
    void killOfAPidThatCannotExistIsESRCHAndExistsSaysNo() throws Exception {
        int pid = noSuchPid();
        assertThatThrownBy(() -> Signals.kill(pid, 0)).hasMessage("kill(%d)(%s, 0): no such process (ESRCH)", pid, arg(pid));
        assertThat(Signals.exists(pid)).isFalse();
        assertThat(Signals.exists(Math.toIntExact(ProcessHandle.current().pid()))).isTrue();
    }

    @Test
    void closeOfABadDescriptorIsEBADFAndTheFdCountsAsClosed() {
        Fd bad = Fd.own(Integer.MAX_VALUE); // above any fd table
        assertThatThrownBy(bad::close).isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.is(Errno.EBADF)).isTrue())
                .hasMessage("close(0x7fffffff): bad file descriptor (EBADF)");
        assertThat(bad.isOpen()).isFalse();
        bad.close(); // a second close does nothing: the number may belong to someone else by now
        assertThatThrownBy(bad::fd).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> Fd.own(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pidfdOpenOfAPidThatCannotExistIsESRCH() throws Exception {
        int pid = noSuchPid();
        assertThatThrownBy(() -> Pidfd.open(pid)).hasMessage("pidfd_open(%d)(%s, 0): no such process (ESRCH)", pid, arg(pid));
    }

    @Test
    void readingProcOfAPidThatCannotExistSaysTheTaskIsGone() throws Exception {
        int pid = noSuchPid();
        assertThatThrownBy(() -> Proc.stat(pid)).isInstanceOf(Proc.TaskGoneException.class).hasMessage("pid %d is gone (it exited)", pid);
        assertThatThrownBy(() -> Proc.threads(pid)).isInstanceOf(Proc.TaskGoneException.class);
        assertThat(Proc.children(pid, pid)).isEmpty();
    }

    /** Each thread sees its own call's errno, however the calls of other threads interleave with it. */
    @Test
    void errnoIsCapturedPerCallAndPerThread() throws Exception {
        String missing = "/proc/self/no-such-file-" + ProcessHandle.current().pid();
        Callable<Integer> enoent = () -> {
            for (int i = 0; i < 20_000; i++) {
                try {
                    Io.open(missing, Linux.O_RDONLY()).close();
                    return -1;
                } catch (ErrnoException e) {
                    if (!e.is(Errno.ENOENT)) {
                        return e.errno();
                    }
                }
                Signals.kill(Math.toIntExact(ProcessHandle.current().pid()), 0); // a call that succeeds between
            }
            return 0;
        };
        Callable<Integer> ebadf = () -> {
            for (int i = 0; i < 20_000; i++) {
                try {
                    Syscall.call("close", Linux.__NR_close(), Integer.MAX_VALUE);
                    return -1;
                } catch (ErrnoException e) {
                    if (!e.is(Errno.EBADF)) {
                        return e.errno();
                    }
                }
            }
            return 0;
        };
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<Integer> a = pool.submit(enoent);
            Future<Integer> b = pool.submit(ebadf);
            assertThat(a.get()).as("the open thread saw only ENOENT (0 = all of them)").isZero();
            assertThat(b.get()).as("the close thread saw only EBADF (0 = all of them)").isZero();
        }
    }

    @Test
    void anArgumentListShowsSmallNumbersInDecimalAndTheRestInHexAndAnUnnamedErrnoByNumber() {
        ErrnoException e = new ErrnoException("frob", new long[] {0, -1, 65535, 65536, -4096, 0x7f12_3456_7000L}, 133);
        assertThat(e.getMessage()).isEqualTo("frob(0, -1, 65535, 0x10000, 0xfffffffffffff000, 0x7f1234567000): errno 133");
        assertThat(Errno.of(133)).isNull();
        assertThat(new ErrnoException("getpid", new long[0], Linux.EINTR()).getMessage()).isEqualTo("getpid(): interrupted system call (EINTR)");
    }
}
