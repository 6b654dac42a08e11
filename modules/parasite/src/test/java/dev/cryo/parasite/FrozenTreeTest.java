package dev.cryo.parasite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.syscalls.Cgroup2;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TestCgroup;

/** How a tree is stopped: by the cgroup2 freezer when it has a cgroup of its own, else task by task. */
class FrozenTreeTest {
    @TempDir
    Path dir;

    private Path mount;

    @BeforeEach
    void cgroup2() {
        mount = Cgroup2.mountPoint().orElse(null);
        assumeThat(mount).as("a cgroup2 hierarchy is mounted").isNotNull();
    }

    /** dumpee and its child, moved into {@code cgroup}. */
    private static Target startIn(TestCgroup cgroup, Path dir) {
        Target target = Target.start("dumpee", dir, "8", "3");
        target.processes().forEach(cgroup::add);
        return target;
    }

    /** The state letters of every thread of every process of the target, in a row ("tttSS"). */
    private static String threadStates(Target target) {
        StringBuilder states = new StringBuilder();
        for (int pid : target.processes()) {
            for (int tid : Proc.threads(pid)) {
                states.append(Proc.stat(pid, tid).state());
            }
        }
        return states.toString();
    }

    @Test
    void aTreeInACgroupOfItsOwnIsFrozenByItThenThawedWithEveryThreadStillStopped() throws Exception {
        try (TestCgroup cgroup = TestCgroup.create(mount); Target target = startIn(cgroup, dir)) {
            int pid = target.pid();
            List<Object> seen = Tracer.call("test", () -> {
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid))) {
                    return List.of(tree.freezer(), tree.threadCount(), cgroup.freezeAsked(), threadStates(target),
                            p.syscall("getpid", Kernel.__NR_getpid));
                }
            });
            assertThat(seen.get(0)).isEqualTo(new Freezer.Cgroup2(cgroup.dir()));
            assertThat(seen.get(1)).as("threads seized: dumpee's 4 and its child").isEqualTo(5);
            assertThat(seen.get(2)).as("the cgroup is thawed once the tree is seized").isEqualTo(false);
            assertThat(seen.get(3)).as("every thread in a ptrace stop").isEqualTo("ttttt");
            assertThat(seen.get(4)).as("injected code runs in the thawed cgroup").isEqualTo((long) pid);
            assertThat(cgroup.freezeAsked()).isFalse();
            assertThat(cgroup.frozen()).isFalse();
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aCgroupFrozenBeforeIsThawedForTheWorkAndFrozenAgainAtRelease() throws Exception {
        try (TestCgroup cgroup = TestCgroup.create(mount); Target target = startIn(cgroup, dir)) {
            int pid = target.pid();
            cgroup.freeze(true);
            long inside = Tracer.call("test", () -> {
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation());
                     Parasite p = Parasite.infect(tree.leader(pid))) {
                    return p.syscall("getpid", Kernel.__NR_getpid);
                }
            });
            assertThat(inside).isEqualTo(pid);
            assertThat(cgroup.freezeAsked()).as("frozen again, as the user left it").isTrue();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!cgroup.frozen() && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(cgroup.frozen()).isTrue();
            assertThat(threadStates(target)).as("frozen, not traced").doesNotContain("t");
            cgroup.freeze(false);
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aCgroupSharedWithAProcessOutsideTheTreeIsNotFrozen() throws Exception {
        try (TestCgroup cgroup = TestCgroup.create(mount); Target target = startIn(cgroup, dir);
             Target stranger = startIn(cgroup, dir.resolve("stranger"))) {
            int pid = target.pid();
            List<Object> seen = Tracer.call("test", () -> {
                try (FrozenTree tree = FrozenTree.freeze(pid, new Cancellation())) {
                    return List.of(tree.freezer(), threadStates(stranger), cgroup.freezeAsked());
                }
            });
            assertThat(seen.get(0)).isEqualTo(Freezer.PTRACE);
            assertThat((String) seen.get(1)).as("the other tree runs on").doesNotContain("t");
            assertThat(seen.get(2)).isEqualTo(false);
            assertThat(stranger.check()).isEqualTo("PASS");
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aTreeHeldByTheFreezeOfASharedCgroupIsRefusedAndLeftAsItWas() throws Exception {
        try (TestCgroup cgroup = TestCgroup.create(mount); Target target = startIn(cgroup, dir);
             Target stranger = startIn(cgroup, dir.resolve("stranger"))) {
            int pid = target.pid();
            cgroup.freeze(true);
            assertThatThrownBy(() -> Tracer.call("test", () -> FrozenTree.freeze(pid, new Cancellation())))
                    .hasMessageContaining("pid " + pid).hasMessageContaining(cgroup.dir().toString());
            assertThat(cgroup.freezeAsked()).as("still frozen, as the user left it").isTrue();
            assertThat(threadStates(target)).as("detached").doesNotContain("t");
            cgroup.freeze(false);
            assertThat(target.check()).isEqualTo("PASS");
            assertThat(stranger.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aFreezeThatFailsMidWayLeavesTheCgroupThawedAndTheTreeRunning() throws Exception {
        try (TestCgroup cgroup = TestCgroup.create(mount); Target target = startIn(cgroup, dir)) {
            int pid = target.pid();
            Cancellation cancelled = new Cancellation();
            cancelled.cancel("the test");
            assertThatThrownBy(() -> Tracer.call("test", () -> FrozenTree.freeze(pid, cancelled)))
                    .isInstanceOf(Cancellation.CancelledException.class);
            assertThat(cgroup.freezeAsked()).isFalse();
            assertThat(cgroup.frozen()).isFalse();
            assertThat(threadStates(target)).doesNotContain("t");
            assertThat(target.check()).isEqualTo("PASS");
        }
    }
}
