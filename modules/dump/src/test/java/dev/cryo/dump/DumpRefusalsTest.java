package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Cgroup2;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Signals;
import dev.cryo.testkit.Target;
import dev.cryo.testkit.TestCgroup;

/** Bad requests get one clear line, the target runs on, and no image is left that looks complete. */
class DumpRefusalsTest {
    @TempDir
    Path work;

    private Path imgDir() throws Exception {
        return Files.createDirectories(work.resolve("img"));
    }

    /** Nothing in {@code dir}: a refused dump leaves the images directory as it found it. */
    static void assertEmpty(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).isEmpty();
        }
    }

    private static DumpStats dump(int pid, Path dir) throws DumpException {
        return Dumper.dump(DumpOptions.of(pid, dir).withLeaveRunning(true).withShellJob(true), new Cancellation());
    }

    @Test
    void noSuchPid() throws Exception {
        Path dir = imgDir();
        assertThatThrownBy(() -> dump(999_999, dir)).isInstanceOf(DumpException.class)
                .hasMessage("cannot dump pid 999999: no such process");
        assertEmpty(dir);
    }

    @Test
    void initAndCryoItselfAreRefused() throws Exception {
        Path dir = imgDir();
        assertThatThrownBy(() -> dump(1, dir)).hasMessageStartingWith("cannot dump pid 1: it is init");
        int self = (int) ProcessHandle.current().pid();
        assertThatThrownBy(() -> dump(self, dir)).hasMessage("cannot dump pid " + self + ": it is cryo itself");
        assertEmpty(dir);
    }

    @Test
    void aTreeHeldByTheFreezeOfACgroupItSharesIsRefusedAndStaysFrozen() throws Exception {
        Path mount = Cgroup2.mountPoint().orElse(null);
        assumeThat(mount).as("a cgroup2 hierarchy is mounted").isNotNull();
        try (TestCgroup cgroup = TestCgroup.create(mount); Target t = Target.start("dumpee", work.resolve("t"), "8", "1");
             Target other = Target.start("dumpee", work.resolve("other"), "8", "1")) {
            t.processes().forEach(cgroup::add);
            other.processes().forEach(cgroup::add);
            cgroup.freeze(true);
            Path dir = imgDir();
            assertThatThrownBy(() -> dump(t.pid(), dir)).isInstanceOf(DumpException.class)
                    .hasMessage("cannot dump pid %d: pid %d is held by the freeze of cgroup %s, which is not the tree's own"
                            + " to lift; thaw it first (echo 0 > %s/cgroup.freeze)", t.pid(), t.pid(), cgroup.dir(), cgroup.dir());
            assertEmpty(dir);
            assertThat(cgroup.freezeAsked()).isTrue();
            cgroup.freeze(false);
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aTaskThatCannotStopIsGivenUpOnAndReleased() throws Exception {
        Path t = work.resolve("t");
        try (Target target = Target.start("vfork_wait", t)) {
            int pid = target.pid();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!(Files.exists(t.resolve("child")) && Proc.stat(pid).state() == 'D') && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(Proc.stat(pid).state()).as("the parent waits for its vfork child").isEqualTo('D');
            Path dir = imgDir();
            assertThatThrownBy(() -> dump(pid, dir)).isInstanceOf(DumpException.class).hasMessageStartingWith(
                    "cannot dump pid " + pid + ": thread " + pid + " of pid " + pid + " did not stop within 10 s of PTRACE_INTERRUPT (state D");
            assertEmpty(dir);
            // The dump's tracer thread has ended, and the kernel has dropped the link with it.
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!Proc.status(pid, "TracerPid").equals("0") && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(Proc.status(pid, "TracerPid")).isEqualTo("0");
            // Once its child is gone, the parent goes on by itself: nothing of cryo's holds it.
            Signals.kill(Integer.parseInt(Files.readString(t.resolve("child")).trim()), 9);
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(t.resolve("after")) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(t.resolve("after")).exists();
        }
    }

    /** A kernel thread is named as one, before anything is seized (PTRACE_SEIZE would say EPERM). */
    @Test
    void aKernelThreadIsRefusedAsOne() throws Exception {
        int kthread = -1;
        String comm = null;
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).toList()) {
                try {
                    Proc.Stat stat = Proc.stat(Integer.parseInt(p.getFileName().toString()));
                    if ((stat.longField(9) & 0x00200000) != 0) { // PF_KTHREAD
                        kthread = Integer.parseInt(p.getFileName().toString());
                        comm = stat.comm();
                        break;
                    }
                } catch (Proc.TaskGoneException gone) {
                    // exited while we looked
                }
            }
        }
        assumeThat(kthread).as("a kernel thread is visible in this pid namespace").isPositive();
        Path dir = imgDir();
        int pid = kthread;
        assertThatThrownBy(() -> dump(pid, dir)).isInstanceOf(DumpException.class)
                .hasMessage("cannot dump pid " + pid + ": it is a kernel thread (" + comm + "), which has no user memory to dump");
        assertEmpty(dir);
    }

    /**
     * A tree of which a task is traced already (here by a thread of this JVM) is refused with the tracer's
     * pid, before anything is frozen: the root, one of its threads, or its child.
     */
    @Test
    void aTaskTracedByAnotherTracerIsRefusedWithTheTracer() throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "1", "2")) {
            java.util.List<Integer> tids = Proc.threads(t.pid());
            int child = Proc.children(t.pid(), t.pid()).getFirst();
            long self = ProcessHandle.current().pid();
            String java = Proc.stat((int) self).comm();
            Path dir = imgDir();
            assertThat(tracedWhile(t.pid(), () -> dump(t.pid(), dir))).hasMessage("cannot dump pid " + t.pid()
                    + ": it is already traced by pid " + self + " (" + java + "), and a task has one tracer; detach that one first");
            assertThat(tracedWhile(tids.get(1), () -> dump(t.pid(), dir))).hasMessageStartingWith("cannot dump pid " + t.pid()
                    + ": its thread " + tids.get(1) + " is already traced by pid " + self);
            assertThat(tracedWhile(child, () -> dump(t.pid(), dir))).hasMessageStartingWith("cannot dump pid " + t.pid()
                    + ": pid " + child + " of its tree is already traced by pid " + self);
            assertEmpty(dir);
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    /**
     * Runs {@code dump} while {@code tid} is seized by a thread of this JVM, which then ends (and with it the
     * trace: the kernel detaches a dead tracer's tracees); returns what the dump threw.
     */
    private static Throwable tracedWhile(int tid, org.assertj.core.api.ThrowableAssert.ThrowingCallable dump) throws Exception {
        java.util.concurrent.CountDownLatch seized = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Thread tracer = Thread.ofPlatform().start(() -> {
            dev.cryo.syscalls.Ptrace.seize(tid, 0);
            seized.countDown();
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            assertThat(seized.await(10, TimeUnit.SECONDS)).isTrue();
            Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(dump);
            assertThat(thrown).isInstanceOf(DumpException.class);
            return thrown;
        } finally {
            done.countDown();
            tracer.join();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!Proc.read(tid, "status").contains("TracerPid:\t0\n") && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
        }
    }

    @Test
    void aZombieIsRefused() throws Exception {
        try (Target t = Target.start("zombie", work.resolve("t"))) {
            int zombie = Integer.parseInt(Files.readString(work.resolve("t/zombie")).trim());
            Path dir = imgDir();
            assertThatThrownBy(() -> dump(zombie, dir)).hasMessageContaining("pid " + zombie + ": it is a zombie");
            assertEmpty(dir);
            assertThat(t.isAlive()).isTrue();
        }
    }

    /**
     * A dump that fails after the tree is frozen (a shell job without --shell-job; a full disk) releases the
     * parent untraced and running, and leaves its zombies unreaped, for the parent to reap with their status.
     */
    @Test
    void aFailedDumpOfATreeWithZombiesLeavesItRunningUntracedAndItsZombiesUnreaped() throws Exception {
        Path t = work.resolve("t");
        try (Target target = Target.start("zombie", t, "exit:42", "signal:9:group")) {
            int parent = target.pid();
            java.util.List<Integer> dead = java.util.Arrays.stream(Files.readString(t.resolve("zombie")).trim().split(" "))
                    .map(Integer::parseInt).toList();
            Path dir = imgDir();
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(parent, dir), new Cancellation()))
                    .hasMessageContaining("it is a shell job");
            assertEmpty(dir);
            assertReleasedWithZombies(parent, dead);
            mount("-t", "tmpfs", "-o", "size=16k", "tmpfs", dir.toString());
            try {
                assertThatThrownBy(() -> dump(parent, dir)).hasMessageContaining("no space left on device (ENOSPC)");
                assertEmpty(dir);
            } finally {
                mount("-u", dir.toString());
            }
            assertReleasedWithZombies(parent, dead);
            Path check = t.resolve("check");
            Files.deleteIfExists(check);
            new ProcessBuilder("kill", "-USR1", Integer.toString(parent)).start().waitFor();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(check) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(Files.readString(check).trim()).as("what the parent reaps").isEqualTo("exited:42 killed:9 sigchld:2");
        }
    }

    private static void assertReleasedWithZombies(int parent, java.util.List<Integer> zombies) throws Exception {
        String status = Files.readString(Path.of("/proc/" + parent + "/status"));
        assertThat(status).as("the parent after the failed dump").contains("TracerPid:\t0\n").containsPattern("State:\t[SR] ");
        for (int z : zombies) {
            String stat = Files.readString(Path.of("/proc/" + z + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            assertThat(f[0]).as("state of zombie %d", z).isEqualTo("Z");
            assertThat(Integer.parseInt(f[1])).as("parent of zombie %d", z).isEqualTo(parent);
        }
    }

    @Test
    void aDirectoryThatHoldsADumpIsRefused() throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "1", "1")) {
            Path dir = imgDir();
            Files.writeString(dir.resolve("inventory.img"), "x");
            assertThatThrownBy(() -> dump(t.pid(), dir)).hasMessageContaining("already holds a dump");
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    /**
     * A directory that holds anything of a dump (part of one, an image being written or left by a killed
     * writer, the parent link, cryo's records, the mark of a killed run) is refused with one line naming
     * what is there; nothing in it is touched, and the target runs on. A file of no dump's is no obstacle.
     */
    @ParameterizedTest
    @ValueSource(strings = {".pages-1.img.0123456789ab.tmp", "core-1.img", "pagemap-shmem-7.img", "parent", "cryo-uffd.txt",
            "notes.txt"})
    void aDirectoryWithPartOfADumpIsRefused(String left) throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "1", "1")) {
            Path dir = imgDir();
            if (left.equals("parent")) {
                Files.createSymbolicLink(dir.resolve(left), Path.of("../elsewhere"));
            } else {
                Files.writeString(dir.resolve(left), "x");
            }
            if (left.equals("notes.txt")) {
                dump(t.pid(), dir);
                assertThat(dir.resolve("inventory.img")).exists();
                assertThat(Files.readString(dir.resolve(left))).isEqualTo("x");
            } else {
                assertThatThrownBy(() -> dump(t.pid(), dir)).isInstanceOf(DumpException.class).hasMessage("cannot dump into "
                        + dir + ": it holds part of a dump that did not finish: " + left + "; use an empty directory");
                try (var files = Files.list(dir)) {
                    assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly(left);
                }
            }
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    /** The mark of a run that was killed (its lock gone with it) and the mark of a run under way are told apart. */
    @Test
    void theMarkOfAKilledRunAndOfARunUnderWayAreNamed() throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "1", "1")) {
            Path dir = imgDir();
            Files.writeString(dir.resolve(".cryo-dump"), "4242\n");
            Files.writeString(dir.resolve(".pages-1.img.0123456789ab.tmp"), "half a page");
            assertThatThrownBy(() -> dump(t.pid(), dir)).hasMessage("cannot dump into " + dir + ": it holds what a dump that was"
                    + " killed left (cryo pid 4242): .cryo-dump, .pages-1.img.0123456789ab.tmp; use an empty directory");
            Files.delete(dir.resolve(".pages-1.img.0123456789ab.tmp"));
            try (java.nio.channels.FileChannel mark = java.nio.channels.FileChannel.open(dir.resolve(".cryo-dump"),
                    java.nio.file.StandardOpenOption.WRITE); var lock = mark.lock()) {
                assertThat(lock.isValid()).isTrue();
                assertThatThrownBy(() -> Dumper.preDump(DumpOptions.of(t.pid(), dir), new Cancellation())).hasMessage(
                        "cannot pre-dump into " + dir + ": another dump (cryo pid 4242) is writing into it; use an empty directory");
            }
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aMissingOrReadOnlyDirectoryIsRefused() throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "1", "1")) {
            assertThatThrownBy(() -> dump(t.pid(), work.resolve("nowhere"))).hasMessageContaining("no such directory");
            Path ro = imgDir();
            mount("-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro.toString());
            try {
                assertThatThrownBy(() -> dump(t.pid(), ro)).hasMessageContaining("not writable (read-only file system)");
            } finally {
                mount("-u", ro.toString());
            }
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aFullDiskFailsCleanlyAndLeavesNothing() throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "32", "2")) {
            Path dir = imgDir();
            mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", dir.toString());
            try {
                assertThatThrownBy(() -> dump(t.pid(), dir)).isInstanceOf(DumpException.class)
                        .hasMessageContaining("no space left on device (ENOSPC)");
                assertEmpty(dir);
            } finally {
                mount("-u", dir.toString());
            }
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    /**
     * The target is SIGKILLed once the dump has written its first pages (a listener hears it, on the dumping
     * thread): the rest of its memory cannot be read, and the dump fails with one line and leaves nothing.
     */
    @Test
    void aTargetThatDiesDuringTheDumpFailsCleanly() throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "512", "2")) {
            Path dir = imgDir();
            int pid = t.pid();
            int child = Proc.children(pid, pid).getFirst();
            long[] killedAt = {-1};
            DumpListener killer = new DumpListener() {
                @Override
                public void pages(long done, long total) {
                    if (killedAt[0] < 0) {
                        killedAt[0] = done;
                        Signals.kill(pid, 9);
                    }
                }
            };
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(pid, dir).withLeaveRunning(true).withShellJob(true).withListener(killer),
                    new Cancellation()))
                    .isInstanceOf(DumpException.class).hasMessageStartingWith("cannot dump pid " + pid + ":")
                    .hasMessageContaining("cannot read pages at 0x")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            assertThat(killedAt[0]).as("pages written when the target was killed").isPositive().isLessThan(512 * 256);
            assertEmpty(dir);
            // its child, which was frozen with it, is released and runs on
            assertThat(Proc.status(child, "TracerPid")).isEqualTo("0");
            assertThat(Proc.stat(child).state()).isIn('S', 'R');
        }
    }

    private static void mount(String... args) throws Exception {
        String[] cmd = args[0].equals("-u") ? new String[] {"umount", args[1]} : concat("mount", args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    private static String[] concat(String first, String[] rest) {
        String[] out = new String[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    @Test
    void aShellJobNeedsShellJob() throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "1", "1")) {
            Path dir = imgDir();
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir).withLeaveRunning(true), new Cancellation()))
                    .hasMessageContaining("is outside the tree; it is a shell job, dump it with --shell-job");
            assertEmpty(dir);
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aCancelledDumpReleasesTheTargetIntactAndLeavesNothing() throws Exception {
        try (Target t = Target.start("dumpee", work.resolve("t"), "1024", "2")) {
            Path dir = imgDir();
            Cancellation cancel = new Cancellation();
            // cancelled in the middle of the pages, as a signal to cryo would (from another thread, at any time)
            DumpListener canceller = new DumpListener() {
                @Override
                public void pages(long done, long total) {
                    cancel.cancel("test asked");
                }
            };
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir).withShellJob(true).withListener(canceller), cancel))
                    .hasMessage("cannot dump pid " + t.pid() + ": dump cancelled: test asked; pid " + t.pid() + " was released");
            assertEmpty(dir);
            assertThat(t.check()).isEqualTo("PASS");
        }
    }

    @Test
    void aHeldLockWithoutFileLocksIsRefusedAndTheTreeRunsOnHoldingIt() throws Exception {
        try (Target t = Target.start("file_locks", work.resolve("t"))) {
            Path dir = imgDir();
            // not a shell job: file_locks leads its own session; the dump stops at the first fd that holds a lock
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir), new Cancellation()))
                    .isInstanceOf(DumpException.class)
                    .hasMessage("cannot dump pid %d fd 3 (%s): it holds an flock (write); dump with --file-locks to keep it"
                            + " (a restore without it would lose the lock)", t.pid(), t.dir().resolve("flock.f"));
            assertEmpty(dir);
            assertThat(Proc.status(t.pid(), "TracerPid")).isEqualTo("0");
            assertThat(t.verdict()).as("the locks are still held by the tree").isEqualTo("PASS");
        }
    }

    @Test
    void aSysvSegmentOfTheHostsIpcNamespaceIsRefusedAndTheTreeRunsOn() throws Exception {
        try (Target t = Target.start("sysv_shm_host", work.resolve("t"))) {
            Path dir = imgDir();
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir), new Cancellation()))
                    .isInstanceOf(DumpException.class)
                    .hasMessageMatching("cannot dump pid " + t.pid() + ": mapping 0x[0-9a-f]+ is SysV shared memory \\(key 0x00000000,"
                            + " shmid \\d+\\) of cryo's own IPC namespace, which processes outside the tree may share; cryo dumps"
                            + " SysV IPC only with an IPC namespace of the tree's own \\(unshare --ipc\\)");
            assertEmpty(dir);
            assertThat(Proc.status(t.pid(), "TracerPid")).isEqualTo("0");
            assertThat(t.verdict()).isEqualTo("PASS");
        }
    }

    @Test
    void aProcessInAnotherIpcNamespaceThanItsRootsIsRefusedAndTheTreeRunsOn() throws Exception {
        try (Target t = Target.start("sysv_ipcns_mixed", work.resolve("t"), "nested")) {
            int child = t.processes().stream().filter(p -> p != t.pid()).findFirst().orElseThrow();
            Path dir = imgDir();
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir), new Cancellation()))
                    .isInstanceOf(DumpException.class)
                    .hasMessageMatching("cannot dump pid " + t.pid() + ": pid " + child + " of its tree is in IPC namespace"
                            + " ipc:\\[\\d+\\], not in its root's \\(ipc:\\[\\d+\\]\\); cryo dumps one IPC namespace per tree, as CRIU does");
            assertEmpty(dir);
            assertThat(Proc.status(child, "TracerPid")).isEqualTo("0");
            assertThat(t.verdict()).isEqualTo("PASS");
        }
    }

    @Test
    void aSegmentAttachedBeforeTheTreeLeftItsNamespaceIsRefusedAndTheTreeRunsOn() throws Exception {
        try (Target t = Target.start("sysv_ipcns_mixed", work.resolve("t"), "foreign")) {
            Path dir = imgDir();
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir), new Cancellation()))
                    .isInstanceOf(DumpException.class)
                    .hasMessageMatching("cannot dump pid " + t.pid() + ": mapping 0x[0-9a-f]+ of pid " + t.pid() + " attaches SysV"
                            + " segment \\d+, which is not one of its IPC namespace's \\(attached before it left another namespace\\?\\)");
            assertEmpty(dir);
            assertThat(Proc.status(t.pid(), "TracerPid")).isEqualTo("0");
            assertThat(t.verdict()).isEqualTo("PASS");
        }
    }

    @Test
    void aKindOfFileCryoCannotDumpIsNamedWithItsPidAndFd() throws Exception {
        try (Target t = Target.start("unsupported_fd", work.resolve("t"))) {
            Path dir = imgDir();
            assertThatThrownBy(() -> Dumper.dump(DumpOptions.of(t.pid(), dir), new Cancellation()))
                    .isInstanceOf(DumpException.class)
                    .hasMessage("cannot dump pid %d fd 3: it is anon_inode:[pidfd], which cryo cannot dump yet", t.pid());
            assertEmpty(dir);
            assertThat(Proc.status(t.pid(), "TracerPid")).isEqualTo("0");
            assertThat(t.verdict()).isEqualTo("PASS");
        }
    }
}
