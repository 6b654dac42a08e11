package dev.cryo.parasite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.ProcMaps;
import dev.cryo.syscalls.Ptrace;
import dev.cryo.syscalls.SigAction;
import dev.cryo.syscalls.SigAltStack;
import dev.cryo.testkit.Awaits;
import dev.cryo.testkit.Target;

class ParasiteTest {
    @TempDir
    Path dir;

    @AfterEach
    void stopWatching() {
        StopPoints.watch(null);
    }

    @Test
    void syscallsRunInsideTheTargetAndCureLeavesItIntact() throws Exception {
        try (Target target = Target.start("dumpee", dir, "8", "4")) {
            int pid = target.pid();
            String mapsBefore = Proc.read(pid, "maps");
            byte[] vdsoBefore = vdso(pid);
            long[] results = Tracer.call("test", () -> {
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid))) {
                    long insidePid = p.syscall("getpid", Kernel.__NR_getpid);
                    try (Arena arena = Arena.ofConfined(); Scratch s = p.scratch()) {
                        // rt_sigaction(SIGUSR1, NULL, &old): the handler the program installed
                        MemorySegment sa = SigAction.allocate(arena);
                        long at = s.reserve(sa.byteSize());
                        p.syscall("rt_sigaction", Kernel.__NR_rt_sigaction, Kernel.SIGUSR1, 0, at, 8);
                        s.read(at, sa);
                        long threads = tree.processes().get(pid).size();
                        return new long[] {insidePid, SigAction.read(sa).handler(), threads, tree.processes().size(),
                                p.unprotectedThreads().size()};
                    }
                }
            });
            assertThat(results[0]).isEqualTo(pid);
            assertThat(results[1]).as("SIGUSR1 handler address").isNotZero();
            assertThat(results[2]).as("threads of the leader process").isEqualTo(5);
            assertThat(results[3]).as("processes in the tree").isEqualTo(2);
            assertThat(results[4]).as("threads without a cure frame").isZero();
            assertThat(Proc.read(pid, "maps")).as("the mappings after the cure").isEqualTo(mapsBefore);
            assertThat(vdso(pid)).as("the vDSO after the cure").isEqualTo(vdsoBefore);
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aFailingRemoteCallNamesTheCallAndErrnoAndStillCures() throws Exception {
        try (Target target = Target.start("dumpee", dir, "8", "1")) {
            int pid = target.pid();
            assertThatThrownBy(() -> Tracer.call("test", () -> {
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid))) {
                    return p.syscall("close", Kernel.__NR_close, 987654);
                }
            })).isInstanceOf(ErrnoException.class).hasMessageContaining("close in pid " + pid).hasMessageContaining("EBADF");
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void scratchMemoryIsSizeCheckedAndHandedOutOnceAtATime() throws Exception {
        try (Target target = Target.start("dumpee", dir, "1", "0")) {
            int pid = target.pid();
            Tracer.call("test", () -> {
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid));
                     Scratch s = p.scratch()) {
                    assertThatThrownBy(() -> s.reserve(s.capacity() + 1)).isInstanceOf(IllegalArgumentException.class)
                            .hasMessageContaining("do not fit");
                    assertThatThrownBy(p::scratch).isInstanceOf(IllegalStateException.class).hasMessageContaining("in use");
                    return null;
                }
            });
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    /**
     * Queries of a dumped task run in one stop where they can (the loop in the vDSO padding, in the leader): they
     * answer what the same calls made one at a time answer, in every thread, and the task comes back intact.
     */
    @Test
    void queriesInOneStopAnswerAsCallsOneAtATime() throws Exception {
        try (Target target = Target.start("dumpee", dir, "8", "3")) {
            int pid = target.pid();
            String mapsBefore = Proc.read(pid, "maps");
            byte[] vdsoBefore = vdso(pid);
            List<Integer> stops = new ArrayList<>();
            StopPoints.watch(point -> {
                if (point.equals("batch-stop")) {
                    stops.add(1);
                }
            });
            List<long[]> got = Tracer.call("test", () -> {
                List<long[]> out = new ArrayList<>();
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid));
                     Arena arena = Arena.ofConfined()) {
                    MemorySegment one = arena.allocate(64);
                    MemorySegment all = arena.allocate(64);
                    for (Tracee t : tree.processes().get(pid)) {
                        long[] single = new long[4];
                        try (Scratch s = p.scratch()) {
                            long ss = s.reserve(24);
                            long sa = s.reserve(32);
                            single[0] = p.syscallIn(t, "gettid", Kernel.__NR_gettid);
                            p.syscallIn(t, "sigaltstack", Kernel.__NR_sigaltstack, 0, ss);
                            p.syscallIn(t, "rt_sigaction", Kernel.__NR_rt_sigaction, Kernel.SIGUSR1, 0, sa, 8);
                            s.read(ss, one.asSlice(0, 24));
                            s.read(sa, one.asSlice(24, 32));
                        }
                        try (Scratch s = p.scratch()) {
                            long ss = s.reserve(24);
                            long sa = s.reserve(32);
                            long[] r = p.queries(t, s, List.of(new Parasite.Call("gettid", Kernel.__NR_gettid),
                                    new Parasite.Call("sigaltstack", Kernel.__NR_sigaltstack, 0, ss),
                                    new Parasite.Call("rt_sigaction", Kernel.__NR_rt_sigaction, Kernel.SIGUSR1, 0, sa, 8)));
                            s.read(ss, all.asSlice(0, 24));
                            s.read(sa, all.asSlice(24, 32));
                            single[1] = r[0];
                            single[2] = r[1];
                            single[3] = one.asSlice(0, 56).mismatch(all.asSlice(0, 56));
                        }
                        out.add(new long[] {t.tid(), single[0], single[1], single[2], single[3]});
                    }
                }
                return out;
            });
            assertThat(got).hasSize(4);
            for (long[] g : got) {
                assertThat(g[1]).as("gettid made alone in thread " + g[0]).isEqualTo(g[0]);
                assertThat(g[2]).as("gettid made in the queries of thread " + g[0]).isEqualTo(g[0]);
                assertThat(g[3]).as("sigaltstack's result").isZero();
                assertThat(g[4]).as("first byte where the queries' answers differ from the calls' (-1: none)").isEqualTo(-1);
            }
            // the other threads' queries go one at a time: see Parasite.stopSignal
            assertThat(stops).as("one stop for the leader's queries").hasSize(1);
            assertThat(Proc.read(pid, "maps")).as("the mappings after the cure").isEqualTo(mapsBefore);
            assertThat(vdso(pid)).as("the vDSO after the cure").isEqualTo(vdsoBefore);
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aFailingQueryNamesItselfStopsTheRestAndStillCures() throws Exception {
        try (Target target = Target.start("dumpee", dir, "8", "1")) {
            int pid = target.pid();
            String mapsBefore = Proc.read(pid, "maps");
            long fdsBefore = fds(pid);
            assertThatThrownBy(() -> Tracer.call("test", () -> {
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid));
                     Scratch s = p.scratch()) {
                    // the dup after the failing close would leave an fd in the task, were it made
                    return p.queries(s, List.of(new Parasite.Call("getpid", Kernel.__NR_getpid),
                            new Parasite.Call("close(987654)", Kernel.__NR_close, 987654),
                            new Parasite.Call("fcntl(F_DUPFD_CLOEXEC)", Kernel.__NR_fcntl, 0, Kernel.F_DUPFD_CLOEXEC, 0)));
                }
            })).isInstanceOf(ErrnoException.class).hasMessageContaining("close(987654) in pid " + pid).hasMessageContaining("EBADF");
            assertThat(Proc.read(pid, "maps")).isEqualTo(mapsBefore);
            assertThat(fds(pid)).as("the target's fds: the call after the failing one was not made").isEqualTo(fdsBefore);
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    private static long fds(int pid) throws Exception {
        try (var fd = java.nio.file.Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return fd.count();
        }
    }

    /**
     * The target is killed during a call its parasite made (a 10 s nanosleep in the leader), with threads cryo
     * has run nothing in: their exits must be reaped before the kernel reports the leader's, and the call
     * must end with the task's death (it once waited forever for the leader).
     */
    @Test
    void aTargetKilledDuringAnInjectedCallEndsTheCallInsteadOfHangingIt() throws Exception {
        try (Target target = Target.start("dumpee", dir, "8", "3")) {
            int pid = target.pid();
            // On a thread of its own: a hang is this test's failure, not the whole run's.
            java.util.concurrent.CompletableFuture<Throwable> work = new java.util.concurrent.CompletableFuture<>();
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    work.complete(call(pid));
                } catch (Exception e) {
                    work.completeExceptionally(e);
                }
            });
            Throwable failure = work.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(failure).as("the call in the killed target").isInstanceOf(Tracee.TaskExitedException.class);
            assertThat(target.isAlive()).isFalse();
        }
    }

    /** A 10 s nanosleep injected into the leader of {@code pid}, which is killed once it sleeps there; what the call threw. */
    private static Throwable call(int pid) throws Exception {
        return Tracer.call("test", () -> {
            try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                 Parasite p = Parasite.infect(tree.leader(pid));
                 Arena arena = Arena.ofConfined();
                 Scratch s = p.scratch()) {
                MemorySegment tenSeconds = arena.allocate(16);
                tenSeconds.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 10);
                long at = s.put(tenSeconds);
                StopPoints.watch(point -> {
                    if (point.equals("call-entry")) {
                        StopPoints.watch(null);
                        Thread.ofPlatform().start(() -> {
                            // once the leader sleeps in the injected nanosleep
                            while (!Proc.read(pid, "task/" + pid + "/wchan").contains("nanosleep")) {
                                Thread.onSpinWait();
                            }
                            dev.cryo.syscalls.Signals.kill(pid, Kernel.SIGKILL);
                        });
                    }
                });
                try {
                    p.syscall("nanosleep", Kernel.__NR_nanosleep, at, 0);
                    return null;
                } catch (RuntimeException e) {
                    return e;
                }
            }
        });
    }

    /**
     * cryo dies at one point of the parasite's life: every thread is detached where it stands, as the kernel
     * does when a tracer exits, and nothing else of cryo's happens. The task must go on as if nothing had
     * happened: its own check passes, nothing of cryo's is left mapped, and its ticker threads (which sleep in
     * nanosleep, restarted through the cure frame) and its main thread (in sigsuspend) still answer.
     */
    @ParameterizedTest(name = "abandoned at {0} #{1}")
    @CsvSource({
            "frame, 1", "call-set, 1", "call-entry, 1", "call-exit, 1", "call-set, 2", "call-exit, 3",
            "frame, 2", "call-set, 4", "call-entry, 5", "call-exit, 6", "cure-thread, 1", "cure-unmapped, 1",
            "cure-thread, 3"})
    void aTaskAbandonedAnywhereInTheParasitesLifeRunsOnAsItWas(String point, int nth) throws Exception {
        try (Target target = Target.start("dumpee", dir, "8", "2")) {
            int pid = target.pid();
            String mapsBefore = Proc.read(pid, "maps");
            boolean abandoned = abandonAt(pid, point, nth);
            assertThat(abandoned).as("the parasite reached " + point + " #" + nth).isTrue();
            assertThat(tracers(pid)).as("TracerPid of every thread").containsOnly(0);
            assertThat(target.check()).isEqualTo("PASS");
            assertThat(Awaits.maps(pid, mapsBefore)).as("the mappings after cryo died").isEqualTo(mapsBefore);
        }
    }

    /**
     * The same, for a cryo that dies around the queries: the leader's loop before it runs and at its stop, and
     * another thread's queries (one at a time) once the leader has run its loop.
     */
    @ParameterizedTest(name = "abandoned at {0} #{1}")
    @CsvSource({"batch-set, 1", "batch-stop, 1", "call-set, 6", "call-exit, 7"})
    void aTaskAbandonedAroundItsQueriesRunsOnAsItWas(String point, int nth) throws Exception {
        try (Target target = Target.start("dumpee", dir, "8", "2")) {
            int pid = target.pid();
            String mapsBefore = Proc.read(pid, "maps");
            boolean abandoned = abandonAt(pid, point, nth);
            assertThat(abandoned).as("the parasite reached " + point + " #" + nth).isTrue();
            assertThat(tracers(pid)).as("TracerPid of every thread").containsOnly(0);
            assertThat(target.check()).isEqualTo("PASS");
            assertThat(Awaits.maps(pid, mapsBefore)).as("the mappings after cryo died").isEqualTo(mapsBefore);
        }
    }

    /** A thread whose cryo dies while it holds AVX-512 state in its registers keeps that state. */
    @ParameterizedTest(name = "abandoned at {0} #{1}")
    @CsvSource({"call-set, 1", "call-exit, 1", "call-exit, 2", "cure-unmapped, 1"})
    void registersAndVectorStateSurviveACryoThatDies(String point, int nth) throws Exception {
        try (Target target = Target.start("avx", dir, Target.Stdio.DEV_NULL)) {
            boolean abandoned = abandonAt(target.pid(), point, nth);
            assertThat(abandoned).isTrue();
            assertThat(target.verdict()).isEqualTo("PASS");
        }
    }

    /**
     * Freezes the tree of {@code pid}, infects its leader, runs calls in the leader and in every other thread,
     * and cures; at the {@code nth} arrival at {@code point} every thread is detached where it stands and the
     * work ends there (nothing of the parasite is cured). Returns whether the point was reached.
     */
    private static boolean abandonAt(int pid, String point, int nth) throws Exception {
        class Abandoned extends RuntimeException {
            Abandoned() {
                super("abandoned at " + point + " #" + nth);
            }
        }
        AtomicInteger seen = new AtomicInteger();
        List<Integer> tids = new ArrayList<>();
        StopPoints.watch(p -> {
            if (p.equals(point) && seen.incrementAndGet() == nth) {
                for (int tid : tids) {
                    Ptrace.detach(tid, 0);
                }
                throw new Abandoned();
            }
        });
        return Tracer.call("test", () -> {
            FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
            tree.processes().get(pid).forEach(t -> tids.add(t.tid()));
            Parasite p = null;
            try {
                p = Parasite.infect(tree.leader(pid));
                p.syscall("getpid", Kernel.__NR_getpid);
                for (Tracee t : tree.processes().get(pid)) {
                    try (Arena arena = Arena.ofConfined(); Scratch s = p.scratch()) {
                        MemorySegment ss = SigAltStack.allocate(arena);
                        long at = s.reserve(ss.byteSize());
                        p.syscallIn(t, "sigaltstack", Kernel.__NR_sigaltstack, 0, at);
                        s.read(at, ss);
                    }
                }
                for (Tracee t : tree.processes().get(pid)) {
                    try (Scratch s = p.scratch()) {
                        long at = s.reserve(24);
                        p.queries(t, s, List.of(new Parasite.Call("sigaltstack", Kernel.__NR_sigaltstack, 0, at),
                                new Parasite.Call("getpid", Kernel.__NR_getpid)));
                    }
                }
                p.close();
                return false;
            } catch (Abandoned e) {
                tree.processes().values().forEach(ts -> ts.forEach(Tracee::markGone));
                return true;
            } finally {
                StopPoints.watch(null);
                tree.close();
            }
        });
    }

    private static List<Integer> tracers(int pid) throws Exception {
        List<Integer> out = new ArrayList<>();
        try (var tasks = java.nio.file.Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                String status = java.nio.file.Files.readString(t.resolve("status"));
                String line = status.lines().filter(l -> l.startsWith("TracerPid:")).findFirst().orElseThrow();
                out.add(Integer.parseInt(line.substring("TracerPid:".length()).strip()));
            }
        }
        return out;
    }

    private static byte[] vdso(int pid) {
        ProcMaps.Mapping v = ProcMaps.named(ProcMaps.of(pid), "[vdso]");
        try (Arena a = Arena.ofConfined(); var mem = Io.open("/proc/" + pid + "/mem", Kernel.O_RDONLY)) {
            MemorySegment buf = a.allocate(v.size());
            Io.pread(mem.fd(), buf, v.start());
            return buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }
}
