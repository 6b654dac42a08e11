package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * A tree with an IPC namespace of its own comes back in a new one, which holds its SysV objects (as CRIU does it,
 * without an option); a tree in the restorer's namespace stays there.
 */
class IpcNamespaceRestoreTest {
    @TempDir
    Path work;

    static String ipcNamespace(Object pid) throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/ipc")).toString();
    }

    /** Dumps {@code program} (killed by the dump), restores it detached; returns the pids of its tree. */
    private List<Integer> dumpAndRestore(String program, Path dir, Path images) throws Exception {
        List<Integer> pids;
        try (Target target = Target.start(program, dir, Target.Stdio.DEV_NULL)) {
            pids = target.processes();
            Dumper.dump(DumpOptions.of(target.pid(), images), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed %s", program).isTrue();
        }
        Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation());
        return pids;
    }

    @Test
    void sharedMemoryComesBackInANewIpcNamespaceWithItsSegmentsAttachedAsTheyWere() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        List<Integer> pids = new ArrayList<>();
        try {
            pids.addAll(dumpAndRestore("sysv_shm", dir, images));
            int root = pids.getFirst();
            String ns = ipcNamespace(root);
            assertThat(ns).as("the restored tree's IPC namespace").isNotEqualTo(ipcNamespace("self"));
            for (int pid : pids) {
                assertThat(ipcNamespace(pid)).as("pid %d shares its root's namespace", pid).isEqualTo(ns);
            }
            // the program checks every segment's id, key, size, owner, mode, attachments and contents
            assertThat(FdRestoreTest.verdict(root, dir)).isEqualTo("PASS");
        } finally {
            for (int pid : pids) {
                RestoreTest.killAndAwait(pid);
            }
        }
    }

    @Test
    void semaphoresAndQueuesComeBackWithTheirValuesAndMessagesAndTheirSleepersWake() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        List<Integer> pids = new ArrayList<>();
        try {
            pids.addAll(dumpAndRestore("sysv_sem_msg", dir, images));
            assertThat(ipcNamespace(pids.getFirst())).isNotEqualTo(ipcNamespace("self"));
            assertThat(FdRestoreTest.verdict(pids.getFirst(), dir)).isEqualTo("PASS");
        } finally {
            for (int pid : pids) {
                RestoreTest.killAndAwait(pid);
            }
        }
    }

    @Test
    void aTreeInTheRestorersIpcNamespaceStaysInIt() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        List<Integer> pids = new ArrayList<>();
        try {
            pids.addAll(dumpAndRestore("sleeping", dir, images));
            assertThat(images.resolve("inventory.img")).exists();
            try (var s = Files.list(images)) {
                assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("ipcns-"));
            }
            assertThat(ipcNamespace(pids.getFirst())).isEqualTo(ipcNamespace("self"));
        } finally {
            for (int pid : pids) {
                RestoreTest.killAndAwait(pid);
            }
        }
    }

    @Test
    void aDumpWhoseIpcNamespaceLacksItsLimitsIsRefusedBeforeAnythingStarts() throws Exception {
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        try (Target target = Target.start("sysv_sem_msg", work.resolve("t"), Target.Stdio.DEV_NULL)) {
            pid = target.pid();
            Dumper.dump(DumpOptions.of(pid, images), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
        Path limits;
        try (var s = Files.list(images)) {
            limits = s.filter(p -> p.getFileName().toString().startsWith("ipcns-var-")).findFirst().orElseThrow();
        }
        Files.delete(limits);
        assertThatThrownBy(() -> Restorer.restore(RestoreOptions.of(images).withDetached(true), new Cancellation()))
                .isInstanceOf(RestoreException.class)
                .hasMessage("cannot restore from %s: checking the IPC namespace's images: %s is missing (the cores' IPC namespace %s"
                        + " is the tree's own)", images, limits.getFileName(),
                        limits.getFileName().toString().replaceAll("\\D", ""));
        assertThat(Files.exists(Path.of("/proc/" + pid))).as("nothing of the tree was started").isFalse();
    }
}
