package dev.cryo.parasite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.kernel_sigaction;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Proc;
import dev.cryo.testkit.Target;

class ParasiteTest {
    @TempDir
    Path dir;

    @Test
    void syscallsRunInsideTheTargetAndCureLeavesItIntact() throws Exception {
        try (Target target = Target.start("dumpee", dir, "8", "4")) {
            int pid = target.pid();
            long[] results = Tracer.call("test", () -> {
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid))) {
                    long insidePid = p.syscall("getpid", Linux.__NR_getpid());
                    // rt_sigaction(SIGUSR1, NULL, &old): the handler the program installed
                    p.syscall("rt_sigaction", Linux.__NR_rt_sigaction(), Linux.SIGUSR1(), 0, p.scratch(), 8);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment sa = kernel_sigaction.allocate(arena);
                        p.readScratch(0, sa);
                        long threads = tree.processes().get(pid).size();
                        return new long[] {insidePid, kernel_sigaction.handler(sa), threads, tree.processes().size()};
                    }
                }
            });
            assertThat(results[0]).isEqualTo(pid);
            assertThat(results[1]).as("SIGUSR1 handler address").isNotZero();
            assertThat(results[2]).as("threads of the leader process").isEqualTo(5);
            assertThat(results[3]).as("processes in the tree").isEqualTo(2);
            assertThat(Proc.read(pid, "maps")).doesNotContain("rwxp 00000000 00:00 0 ");
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
                    return p.syscall("close", Linux.__NR_close(), 987654);
                }
            })).isInstanceOf(ErrnoException.class).hasMessageContaining("close in pid " + pid).hasMessageContaining("EBADF");
            assertThat(target.check()).isEqualTo("PASS");
        }
    }
}
