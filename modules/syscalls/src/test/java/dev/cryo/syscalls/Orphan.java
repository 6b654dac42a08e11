package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import dev.cryo.bindings.Linux;

/**
 * A {@code sleep} for the tests to trace, signal and limit: started by a shell that exits at once, so that it is
 * an orphan reparented to this JVM (made a subreaper) and not a child of the JVM's process reaper, which would
 * take its ptrace stops. Closing kills it and reaps it with {@link Wait}. (syscalls cannot use the testkit's
 * nanny: the testkit depends on syscalls.)
 */
final class Orphan implements AutoCloseable {
    private static boolean subreaper;

    final int pid;
    /** How it ended, once {@link #close} reaped it. */
    Wait.Status end;

    private Orphan(int pid) {
        this.pid = pid;
    }

    static synchronized Orphan start(String comm) throws Exception {
        if (!subreaper) {
            Syscall.call("prctl(PR_SET_CHILD_SUBREAPER)", Linux.__NR_prctl(), Linux.PR_SET_CHILD_SUBREAPER(), 1);
            subreaper = true;
        }
        // the copy's name is its comm: a name with spaces and parentheses tests the parsing of /proc/PID/stat
        Path dir = Files.createTempDirectory("cryo-syscalls-");
        Path exe = Files.copy(Path.of("/bin/sleep"), dir.resolve(comm));
        Process shell = new ProcessBuilder("sh", "-c", "\"$0\" 600 </dev/null >/dev/null 2>&1 & echo $!", exe.toString())
                .redirectErrorStream(true).start();
        String said = new String(shell.getInputStream().readAllBytes()).trim();
        assertThat(shell.waitFor(10, TimeUnit.SECONDS)).as("the shell that starts the orphan exits").isTrue();
        Orphan o = new Orphan(Integer.parseInt(said));
        try {
            // asleep in its own code (the exec done: the shell's child may still change its signal mask before it)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!(Proc.stat(o.pid).comm().equals(comm) && Proc.stat(o.pid).state() == 'S')) {
                assertThat(System.nanoTime()).as("pid %d execs %s and sleeps", o.pid, comm).isLessThan(deadline);
                Thread.sleep(1);
            }
        } catch (Exception | AssertionError e) {
            o.close();
            throw e;
        } finally {
            Files.delete(exe);
            Files.delete(dir);
        }
        return o;
    }

    @Override
    public void close() {
        if (end == null) {
            Signals.kill(pid, Linux.SIGKILL());
            do {
                end = Wait.waitPid(pid, Linux.__WALL()); // a stop left unwaited by a failed test comes first
            } while (!end.gone());
        }
    }
}
