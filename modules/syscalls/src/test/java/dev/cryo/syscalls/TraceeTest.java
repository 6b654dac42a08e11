package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.util.Locale;

import org.junit.jupiter.api.Test;

import dev.cryo.bindings.Linux;

/** ptrace, wait4 and prlimit64 on another process, each checked against what /proc says of it. */
class TraceeTest {
    private static int gettid() {
        return (int) Syscall.call("gettid", Linux.__NR_gettid());
    }

    private static long bit(int signal) {
        return 1L << (signal - 1);
    }

    private static String hex(long mask) {
        return String.format(Locale.ROOT, "%016x", mask);
    }

    @Test
    void aSeizedTaskStopsOnInterruptAndItsSignalMaskIsWhatProcShows() throws Exception {
        Orphan o;
        try (Orphan orphan = Orphan.start("tracee")) {
            o = orphan;
            Ptrace.seize(o.pid, 0);
            assertThat(Proc.status(o.pid, "TracerPid")).as("the tracer is this thread").isEqualTo(Integer.toString(gettid()));
            assertThatThrownBy(() -> Ptrace.seize(o.pid, 0)).as("seized twice")
                    .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.is(Errno.EPERM)).isTrue())
                    .hasMessageStartingWith("ptrace(PTRACE_SEIZE, " + o.pid + ")(").hasMessageEndingWith("operation not permitted (EPERM)");

            Ptrace.interrupt(o.pid);
            Wait.Status stop = Wait.waitPid(o.pid, Linux.__WALL());
            assertThat(stop.pid()).isEqualTo(o.pid);
            assertThat(stop.stopped()).as("%s", stop).isTrue();
            assertThat(stop.gone()).isFalse();
            assertThat(stop.event()).as("a group stop of PTRACE_INTERRUPT").isEqualTo(Linux.PTRACE_EVENT_STOP());
            assertThat(stop.stopSignal()).isEqualTo(Linux.SIGTRAP());
            assertThat(Proc.stat(o.pid).state()).as("stopped by its tracer").isEqualTo('t');

            assertThat(hex(Ptrace.getSigmask(o.pid))).isEqualTo(Proc.status(o.pid, "SigBlk"));
            long mask = bit(Linux.SIGUSR1()) | bit(Linux.SIGUSR2()) | bit(Linux.CRYO_KERNEL_SIGRTMIN()) | bit(Linux.CRYO_KERNEL_NSIG());
            Ptrace.setSigmask(o.pid, mask);
            assertThat(Proc.status(o.pid, "SigBlk")).isEqualTo(hex(mask));
            assertThat(Ptrace.getSigmask(o.pid)).isEqualTo(mask);
            // blocked, a signal to the process waits in its shared queue and stops nothing
            Signals.kill(o.pid, Linux.SIGUSR2());
            assertThat(Proc.status(o.pid, "ShdPnd")).isEqualTo(hex(bit(Linux.SIGUSR2())));

            Ptrace.detach(o.pid, 0);
            assertThat(Proc.status(o.pid, "TracerPid")).isEqualTo("0");
            assertThatThrownBy(() -> Ptrace.interrupt(o.pid)).as("no longer traced")
                    .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.is(Errno.ESRCH)).isTrue());
        }
        assertThat(o.end.killed()).as("%s", o.end).isTrue();
        assertThat(o.end.exited()).isFalse();
        assertThat(o.end.termSignal()).isEqualTo(Linux.SIGKILL());
        assertThat(o.end.toString()).isEqualTo("pid " + o.pid + " killed by signal 9");
        assertThat(Signals.exists(o.pid)).as("reaped").isFalse();
    }

    /**
     * A sleep interrupted by PTRACE_INTERRUPT shows in its registers as the kernel left it (the call in orig_rax,
     * ERESTART_RESTARTBLOCK in rax, rip after the syscall instruction); {@link UserRegs#restartInterruptedCall}
     * makes of them what the kernel does itself when the thread resumes, which PTRACE_SYSCALL then shows.
     */
    @Test
    void anInterruptedSleepRestartsFromItsSyscallInstructionAsTheKernelDoes() throws Exception {
        try (Orphan o = Orphan.start("sleeper"); Arena arena = Arena.ofConfined()) {
            Ptrace.seize(o.pid, Linux.PTRACE_O_TRACESYSGOOD());
            Ptrace.interrupt(o.pid);
            assertThat(Wait.waitPid(o.pid, Linux.__WALL()).event()).isEqualTo(Linux.PTRACE_EVENT_STOP());
            UserRegs stopped = UserRegs.of(o.pid);
            assertThat(stopped.origRax()).as("sleep(1) sleeps in clock_nanosleep").isEqualTo(Linux.__NR_clock_nanosleep());
            assertThat(stopped.rax()).isEqualTo(UserRegs.ERESTART_RESTARTBLOCK);

            UserRegs restarted = new UserRegs().copyFrom(stopped);
            assertThat(restarted.restartInterruptedCall()).isTrue();
            assertThat(restarted.rip()).isEqualTo(stopped.rip() - 2);
            assertThat(restarted.rax()).isEqualTo(Linux.__NR_restart_syscall());
            assertThat(restarted.origRax()).isEqualTo(stopped.origRax());
            assertThat(Ptrace.peekData(o.pid, restarted.rip()) & 0xffff).as("the bytes at rip: syscall (0f 05)").isEqualTo(0x050f);
            assertThat(restarted.restartInterruptedCall()).as("once restarted, rax holds no restart code").isFalse();

            Ptrace.syscall(o.pid, 0);
            Wait.Status entry = Wait.waitPid(o.pid, Linux.__WALL());
            assertThat(entry.syscallStop()).as("%s", entry).isTrue();
            UserRegs atEntry = UserRegs.of(o.pid);
            assertThat(atEntry.origRax()).as("the kernel's own restart").isEqualTo(Linux.__NR_restart_syscall());
            assertThat(atEntry.rip()).isEqualTo(stopped.rip());
            Ptrace.detach(o.pid, 0);
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (!Proc.read(o.pid, "syscall").startsWith(Linux.__NR_restart_syscall() + " ")) {
                assertThat(System.nanoTime()).as("pid %d sleeps on in restart_syscall", o.pid).isLessThan(deadline);
                Thread.sleep(1);
            }
        }
    }

    @Test
    void aWaitWithWNOHANGOnARunningChildFindsNothing() throws Exception {
        try (Orphan o = Orphan.start("idle")) {
            assertThat(Wait.waitPid(o.pid, Linux.WNOHANG())).isNull();
        }
        assertThatThrownBy(() -> Wait.waitPid(SyscallErrorsTest.noSuchPid(), Linux.__WALL()))
                .isInstanceOfSatisfying(ErrnoException.class, e -> assertThat(e.is(Errno.ECHILD)).isTrue());
    }

    /** The "Max open files" line of /proc/PID/limits: soft and hard, "unlimited" as -1. */
    private static Rlimits.Limit procNofile(int pid) throws Exception {
        String line = Files.readAllLines(Proc.path(pid, "limits")).stream().filter(l -> l.startsWith("Max open files"))
                .findFirst().orElseThrow();
        String[] f = line.substring("Max open files".length()).trim().split("\\s+");
        return new Rlimits.Limit(f[0].equals("unlimited") ? -1 : Long.parseLong(f[0]), f[1].equals("unlimited") ? -1 : Long.parseLong(f[1]));
    }

    @Test
    void anotherProcessesFileLimitIsReadAndSetAsProcShowsIt() throws Exception {
        try (Orphan o = Orphan.start("limited")) {
            Rlimits.Limit was = Rlimits.get(o.pid, Linux.RLIMIT_NOFILE());
            assertThat(was).isEqualTo(procNofile(o.pid));
            Rlimits.set(o.pid, Linux.RLIMIT_NOFILE(), new Rlimits.Limit(63, was.max()));
            assertThat(procNofile(o.pid)).isEqualTo(new Rlimits.Limit(63, was.max()));
            assertThatThrownBy(() -> Rlimits.set(o.pid, Linux.RLIMIT_NOFILE(), new Rlimits.Limit(64, 32)))
                    .as("a soft limit above the hard one")
                    .hasMessageStartingWith("prlimit64(pid " + o.pid + ", resource " + Linux.RLIMIT_NOFILE() + ")(")
                    .hasMessageEndingWith("invalid argument (EINVAL)");
            assertThat(procNofile(o.pid).cur()).isEqualTo(63);
        }
    }
}
