package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Kernel;
import dev.cryo.testkit.Target;

/** Trees and threads: zdtm/programs/rst_tree.c (a session leader, threads, a child in its own group, a grandchild). */
class TreeRestoreTest {
    @TempDir
    Path work;

    /** What /proc says of one process: its parent, group, session and threads. */
    record Proc(int pid, int ppid, int pgid, int sid, List<Integer> tids) {
        static Proc of(int pid) throws IOException {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            List<Integer> tids = new ArrayList<>();
            try (var ts = Files.list(Path.of("/proc/" + pid + "/task"))) {
                ts.forEach(t -> tids.add(Integer.parseInt(t.getFileName().toString())));
            }
            tids.sort(null);
            return new Proc(pid, Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]), tids);
        }
    }

    static List<Integer> family(Path dir) throws IOException {
        List<Integer> pids = new ArrayList<>();
        for (String s : Files.readString(dir.resolve("family")).trim().split(" ")) {
            pids.add(Integer.parseInt(s));
        }
        return pids;
    }

    static String ask(int pid, Path answer) throws Exception {
        Files.deleteIfExists(answer);
        dev.cryo.syscalls.Signals.kill(pid, Kernel.SIGUSR1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(answer)) {
            assertThat(System.nanoTime()).as("pid %d answers SIGUSR1 within 30 s", pid).isLessThan(deadline);
            Thread.sleep(10);
        }
        return Files.readString(answer).trim();
    }

    static void killAll(List<Integer> pids) throws Exception {
        for (int pid : pids) {
            try {
                dev.cryo.syscalls.Signals.kill(pid, Kernel.SIGKILL);
            } catch (dev.cryo.syscalls.ErrnoException gone) {
                // exited already (a restore from damaged pages may crash it): nothing to kill
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (int pid : pids) {
            while (Files.exists(Path.of("/proc/" + pid)) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }
    }

    @Test
    void aTreeWithThreadsComesBackWithItsPidsTidsSessionsGroupsAndMemory() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        List<Integer> pids = new ArrayList<>();
        List<Proc> before = new ArrayList<>();
        try (Target target = Target.start("rst_tree", dir, "256", "4")) {
            pids.add(target.pid());
            pids.addAll(family(dir));
            for (int pid : pids) {
                before.add(Proc.of(pid));
            }
            assertThat(ask(pids.get(0), dir.resolve("check"))).isEqualTo("PASS");
            assertThat(ask(pids.get(1), dir.resolve("check-child"))).isEqualTo("PASS");
            Dumper.dump(DumpOptions.of(target.pid(), images), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed the tree").isTrue();
        }
        for (int pid : pids) {
            assertThat(Path.of("/proc/" + pid)).doesNotExist();
        }

        RestoreStats stats = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(stats.rootPid()).isEqualTo(pids.get(0));
            // 256 MiB once: the child's copy-on-write pages were written with its parent's, and it inherits them
            assertThat(stats.pagesRestored()).isGreaterThanOrEqualTo(65536L);
            for (int i = 0; i < pids.size(); i++) {
                Proc now = Proc.of(pids.get(i));
                Proc was = before.get(i);
                assertThat(now.tids()).as("tids of %d", was.pid()).isEqualTo(was.tids());
                assertThat(now.pgid()).as("pgid of %d", was.pid()).isEqualTo(was.pgid());
                assertThat(now.sid()).as("sid of %d", was.pid()).isEqualTo(was.sid());
                if (i > 0) {
                    assertThat(now.ppid()).as("parent of %d", was.pid()).isEqualTo(was.ppid());
                }
            }
            // the child changed 1 MiB after fork: the rest of its 256 MiB is shared with its parent again
            assertThat(privateDirtyKib(pids.get(1))).as("child's Private_Dirty (KiB)").isLessThan(32 * 1024);
            assertThat(privateDirtyKib(pids.get(2))).as("grandchild's Private_Dirty (KiB)").isLessThan(32 * 1024);
            assertThat(ask(pids.get(0), dir.resolve("check"))).isEqualTo("PASS");
            assertThat(ask(pids.get(1), dir.resolve("check-child"))).isEqualTo("PASS");
            // another round of the parent's check, whose threads must tick again: it runs on
            assertThat(ask(pids.get(0), dir.resolve("check"))).as("still running").isEqualTo("PASS");
        } finally {
            killAll(pids);
        }
    }

    /** The lines of /proc/PID/status that a zombie shows of its name, signals and state. */
    static List<String> zombieStatus(int pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                .filter(l -> l.matches("(Name|State|SigBlk|SigIgn|SigCgt|Threads):.*")).toList();
    }

    /**
     * zombie.c's children exit (42, in a group of their own) or are killed (SIGKILL, SIGTERM) and stay unreaped.
     * Restored, each is a zombie again with its pid, parent, group and session, and its parent reaps from it
     * the status it ended with.
     */
    @Test
    void zombiesComeBackInTheirPlacesAndTheirParentReapsTheStatusTheyEndedWith() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        List<Integer> pids = new ArrayList<>();
        List<Proc> before = new ArrayList<>();
        List<List<String>> statusBefore = new ArrayList<>();
        try (Target target = Target.start("zombie", dir, "exit:42:group", "signal:9", "signal:15")) {
            pids.add(target.pid());
            for (String z : Files.readString(dir.resolve("zombie")).trim().split(" ")) {
                pids.add(Integer.parseInt(z));
            }
            for (int pid : pids) {
                before.add(Proc.of(pid));
                statusBefore.add(zombieStatus(pid));
            }
            Dumper.dump(DumpOptions.of(target.pid(), images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).as("the dump killed the tree, and its zombies were reaped").isTrue();
        }
        for (int pid : pids) {
            assertThat(Path.of("/proc/" + pid)).doesNotExist();
        }

        RestoreStats stats = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
        try {
            assertThat(stats.rootPid()).isEqualTo(pids.get(0));
            // A shell job: the root's group and session were outside the tree, and are the restorer's now.
            Proc rootWas = before.getFirst();
            Proc rootNow = Proc.of(rootWas.pid());
            assertThat(rootNow.tids()).isEqualTo(rootWas.tids());
            for (int i = 1; i < pids.size(); i++) {
                Proc was = before.get(i);
                Proc now = Proc.of(pids.get(i));
                assertThat(now.tids()).as("threads of %d", was.pid()).containsExactly(was.pid());
                assertThat(now.ppid()).as("parent of %d", was.pid()).isEqualTo(was.ppid());
                assertThat(now.pgid()).as("group of %d", was.pid()).isEqualTo(was.pgid() == rootWas.pgid() ? rootNow.pgid() : was.pgid());
                assertThat(now.sid()).as("session of %d", was.pid()).isEqualTo(rootNow.sid());
            }
            assertThat(before.get(1).pgid()).as("the first zombie led a group of its own").isEqualTo(pids.get(1));
            for (int i = 0; i < pids.size(); i++) {
                assertThat(zombieStatus(pids.get(i))).as("name, state and signals of %d", pids.get(i)).isEqualTo(statusBefore.get(i));
            }
            assertThat(zombieStatus(pids.get(1))).contains("State:\tZ (zombie)");
            assertThat(ask(pids.get(0), dir.resolve("check"))).as("what the parent reaps")
                    .isEqualTo("exited:42 killed:9 killed:15 sigchld:3"); // no SIGCHLD from the restore
            for (int z : pids.subList(1, pids.size())) {
                assertThat(Path.of("/proc/" + z)).as("zombie %d, reaped", z).doesNotExist();
            }
        } finally {
            killAll(pids); // the parent first: its zombies go to the keeper, which reaps them
        }
    }

    /** The pids of {@code pid} in each namespace, outermost first (NSpid of /proc/PID/status). */
    static List<Integer> nsPids(int pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("NSpid:")) {
                return java.util.Arrays.stream(line.substring(6).trim().split("\\s+")).map(Integer::parseInt).toList();
            }
        }
        throw new IllegalStateException("no NSpid in /proc/" + pid + "/status");
    }

    static List<Integer> childrenOf(int pid) throws IOException {
        List<Integer> out = new ArrayList<>();
        for (String k : Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim().split("\\s+")) {
            if (!k.isEmpty()) {
                out.add(Integer.parseInt(k));
            }
        }
        return out;
    }

    @Test
    void withPidnsADumpTakenWithLeaveRunningRunsBesideItsOriginal() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("rst_tree", dir, "32", "2")) {
            int pid = target.pid();
            int child = family(dir).get(0);
            Dumper.dump(DumpOptions.of(pid, images).withLeaveRunning(true), new Cancellation());
            RestoreStats stats = Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true).withPidns(true), new Cancellation());
            int host = stats.rootPid();
            List<Integer> restored = new ArrayList<>(List.of(host));
            int init = Proc.of(host).ppid();
            try {
                assertThat(host).isNotEqualTo(pid);
                assertThat(nsPids(host)).as("NSpid of the restored root").containsExactly(host, pid);
                assertThat(nsPids(init)).as("NSpid of the namespace's init").endsWith(1);
                List<Integer> kids = childrenOf(host);
                assertThat(kids).hasSize(1);
                restored.addAll(kids);
                assertThat(nsPids(kids.getFirst())).last().isEqualTo(child);
                assertThat(Proc.of(host).tids()).hasSize(3);
                assertThat(ask(host, dir.resolve("check"))).isEqualTo("PASS");
                assertThat(ask(kids.getFirst(), dir.resolve("check-child"))).isEqualTo("PASS");
                assertThat(target.check()).as("the original runs on").isEqualTo("PASS");
            } finally {
                restored.add(init);
                killAll(restored);
            }
        }
    }

    static long privateDirtyKib(int pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
            if (line.startsWith("Private_Dirty:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no Private_Dirty in /proc/" + pid + "/smaps_rollup");
    }

    /**
     * A SIGUSR1 sent to the pid while cryo still builds the task is kept, and handled once the task runs. It is
     * sent as soon as the process exists ({@link RestoreListener#processCreated}), so that it must outlive every
     * injected call of the restore; the stub's default action for it would kill the task. The target is
     * counter.c, which looks at its flag after every 10 ms sleep: a program that checks its flag only after
     * pause() returns would miss a signal delivered just before the restarted pause(), as it would without a
     * restore.
     */
    @Test
    void aSignalSentDuringTheRestoreIsHandledAfterIt() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        int pid;
        try (Target target = Target.start("counter", dir)) {
            pid = target.pid();
            Dumper.dump(DumpOptions.of(pid, images).withShellJob(true), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
        Path check = dir.resolve("check");
        Files.deleteIfExists(check);
        List<String> tracerAtSend = new ArrayList<>();
        RestoreListener signaller = new RestoreListener() {
            @Override
            public void processCreated(int created) {
                if (created == pid) {
                    tracerAtSend.add(dev.cryo.syscalls.Proc.status(pid, "TracerPid"));
                    dev.cryo.syscalls.Signals.kill(pid, Kernel.SIGUSR1);
                }
            }
        };
        try {
            Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true).withListener(signaller), new Cancellation());
            assertThat(tracerAtSend).as("the signal went to the task while cryo drove it").singleElement().isNotEqualTo("0");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(check)) {
                assertThat(System.nanoTime()).as("the restored task answers the SIGUSR1 sent during its restore within 30 s")
                        .isLessThan(deadline);
                Thread.sleep(10);
            }
        } finally {
            killAll(List.of(pid));
        }
    }

    /** Without -d the restore returns once the whole restored tree has exited (the keeper reaped it). */
    @Test
    void anAttachedRestoreReturnsWhenTheTreeIsGone() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        List<Integer> pids = new ArrayList<>();
        try (Target target = Target.start("rst_tree", dir, "8", "1")) {
            pids.add(target.pid());
            pids.addAll(family(dir));
            Dumper.dump(DumpOptions.of(target.pid(), images), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
        java.util.concurrent.CompletableFuture<RestoreStats> restore = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return Restorer.restore(RestoreOptions.of(images).withShellJob(true), new Cancellation());
            } catch (RestoreException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        try {
            Path status = Path.of("/proc/" + pids.get(0) + "/status");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!(Files.exists(status) && Files.readString(status).contains("TracerPid:\t0\n"))) {
                assertThat(System.nanoTime()).as("pid %d is restored and released within 30 s", pids.get(0)).isLessThan(deadline);
                Thread.sleep(5);
            }
            assertThat(ask(pids.get(0), dir.resolve("check"))).isEqualTo("PASS");
            assertThat(restore).as("the restore waits for the tree").isNotDone();
        } finally {
            killAll(pids);
        }
        RestoreStats s = restore.get(30, TimeUnit.SECONDS);
        assertThat(s.rootPid()).isEqualTo(pids.get(0));
        assertThat(s.exitCode()).isZero();
    }
}
