package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

class DumpTest {
    @TempDir
    Path work;

    static String crit(Path image) throws Exception {
        Process p = new ProcessBuilder("crit", "decode", "-i", image.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return p.exitValue() == 0 ? out : "FAILED " + image.getFileName() + ": " + out;
    }

    static List<String> images(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void leaveRunningDumpWritesCritReadableImagesAndTheTreeRunsOnIntact() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "64", "4")) {
            long expectedPages = PagemapCount.privatePages(target.pid());
            DumpStats stats = Dumper.dump(DumpOptions.of(target.pid(), dir).withLeaveRunning(true).withShellJob(true), new Cancellation());
            assertThat(stats.processes()).isEqualTo(2);
            assertThat(stats.threads()).isEqualTo(6);
            assertThat(target.check()).isEqualTo("PASS");
            assertThat(images(dir)).contains("inventory.img", "pstree.img", "core-" + target.pid() + ".img",
                    "mm-" + target.pid() + ".img", "pagemap-" + target.pid() + ".img", "files.img", "pipes-data.img");
            List<String> failed = new ArrayList<>();
            for (String name : images(dir)) {
                if (name.startsWith("pages-")) {
                    continue; // raw page data: crit has no decoder for it
                }
                String out = crit(dir.resolve(name));
                if (out.startsWith("FAILED")) {
                    failed.add(out);
                }
            }
            assertThat(failed).isEmpty();
            // the leader's pages: everything the test counted for it, plus nothing else
            assertThat(stats.pagesWritten()).isGreaterThanOrEqualTo(expectedPages);
            assertThat(crit(dir.resolve("pipes-data.img"))).contains("\"bytes\": 21");
            // Every thread's saved ip is in an executable mapping of the task, never in the parasite's area.
            var store = new dev.cryo.images.DirectoryImageStore(dir);
            var mm = store.readEntry(dev.cryo.images.ImageKind.MM, target.pid(), dev.cryo.images.proto.MmEntry.parser());
            var pstree = store.readEntry(dev.cryo.images.ImageKind.PSTREE, dev.cryo.images.proto.PstreeEntry.parser());
            for (int tid : pstree.getThreadsList()) {
                var core = store.readEntry(dev.cryo.images.ImageKind.CORE, tid, dev.cryo.images.proto.CoreEntry.parser());
                long ip = core.getThreadInfo().getGpregs().getIp();
                assertThat(mm.getVmasList()).as("thread %d ip 0x%x", tid, ip)
                        .anyMatch(v -> v.getStart() <= ip && ip < v.getEnd() && (v.getProt() & 4) != 0);
            }
        }
    }

    @Test
    void dumpOfA256MiBTreeWritesSharedPagesOnceAndKillsIt() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("dumpee", work.resolve("t"), "256", "4")) {
            List<Integer> tree = target.processes();
            assertThat(tree).hasSize(2);
            // Stop the tree so that the count and the dump see the same pages.
            for (int pid : tree) {
                new ProcessBuilder("kill", "-STOP", Integer.toString(pid)).start().waitFor();
            }
            long parentPages = PagemapCount.privatePages(target.pid());
            long childPages = PagemapCount.privatePages(tree.get(1));
            DumpStats stats = Dumper.dump(DumpOptions.of(target.pid(), dir).withShellJob(true), new Cancellation());
            // The parent's pages exactly; of the child's, only those it no longer shares copy-on-write with
            // the parent (its stack, a few written pages): its 256 MiB pattern is written once, with the parent.
            assertThat(stats.pagesWritten()).isGreaterThanOrEqualTo(parentPages).isLessThan(parentPages + childPages / 10);
            assertThat(stats.pagesWritten()).isGreaterThan(256L * 256);
            assertThat(target.awaitExit(30)).as("the dumped tree is killed").isTrue();
            long pagesBytes = 0;
            for (String name : images(dir)) {
                if (name.startsWith("pages-")) {
                    pagesBytes += Files.size(dir.resolve(name));
                } else {
                    assertThat(crit(dir.resolve(name))).doesNotStartWith("FAILED");
                }
            }
            assertThat(pagesBytes).isEqualTo(stats.pagesWritten() * 4096);
            String core = crit(dir.resolve("core-" + target.pid() + ".img"));
            assertThat(core).contains("\"task_state\": 3"); // stopped at dump time: TASK_STOPPED
        }
    }

    /** The pids that zombie.c wrote to DIR/zombie, one per HOW, in order. */
    static List<Integer> zombies(Path dir) throws Exception {
        return java.util.Arrays.stream(Files.readString(dir.resolve("zombie")).trim().split(" ")).map(Integer::parseInt).toList();
    }

    /** The state letter of /proc/PID/stat, or 'X' when the pid is gone. */
    static char state(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (java.io.IOException e) {
            return 'X';
        }
    }

    @Test
    void zombiesAreDumpedAsDeadTasksWithTheirStatusAndNoMemoryOrFiles() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        Path t = work.resolve("t");
        try (Target target = Target.start("zombie", t, "exit:42:group", "signal:9")) {
            int parent = target.pid();
            List<Integer> dead = zombies(t);
            DumpStats stats = Dumper.dump(DumpOptions.of(parent, dir).withLeaveRunning(true).withShellJob(true), new Cancellation());
            assertThat(stats.processes()).as("the parent and its two zombies").isEqualTo(3);
            assertThat(stats.threads()).as("only the parent's thread was seized").isEqualTo(1);
            assertThat(stats.pages().keySet()).as("pages of the parent only: a zombie has no memory").containsExactly(parent);

            var store = new dev.cryo.images.DirectoryImageStore(dir);
            List<dev.cryo.images.proto.PstreeEntry> pstree;
            try (var r = store.openReader(dev.cryo.images.ImageKind.PSTREE)) {
                pstree = r.readAll(dev.cryo.images.proto.PstreeEntry.parser());
            }
            int parentPgid = pstree.stream().filter(e -> e.getPid() == parent).findFirst().orElseThrow().getPgid();
            var exited = pstree.stream().filter(e -> e.getPid() == dead.get(0)).findFirst().orElseThrow();
            assertThat(exited.getPpid()).isEqualTo(parent);
            assertThat(exited.getPgid()).as("its own group").isEqualTo(dead.get(0));
            assertThat(exited.getThreadsList()).containsExactly(dead.get(0));
            var killed = pstree.stream().filter(e -> e.getPid() == dead.get(1)).findFirst().orElseThrow();
            assertThat(killed.getPpid()).isEqualTo(parent);
            assertThat(killed.getPgid()).as("its parent's group").isEqualTo(parentPgid);
            assertThat(killed.getThreadsList()).containsExactly(dead.get(1));

            // TASK_DEAD (2), and the status as wait reports it: exit 42 is 42 << 8, SIGKILL is 9
            assertThat(crit(dir.resolve("core-" + dead.get(0) + ".img"))).contains("\"task_state\": 2").contains("\"exit_code\": 10752");
            assertThat(crit(dir.resolve("core-" + dead.get(1) + ".img"))).contains("\"task_state\": 2").contains("\"exit_code\": 9");
            for (int z : dead) {
                assertThat(images(dir)).as("images of zombie %d", z).doesNotContain("mm-" + z + ".img", "pagemap-" + z + ".img", "fs-" + z + ".img", "fdinfo-" + z + ".img");
            }
            for (String name : images(dir)) {
                if (!name.startsWith("pages-")) {
                    assertThat(crit(dir.resolve(name))).as(name).doesNotStartWith("FAILED");
                }
            }
            // --leave-running: the parent runs on and its children are still zombies, unreaped
            assertThat(state(parent)).isIn('S', 'R');
            assertThat(Files.readString(Path.of("/proc/" + parent + "/status"))).contains("TracerPid:\t0\n");
            for (int z : dead) {
                assertThat(state(z)).as("zombie %d", z).isEqualTo('Z');
            }
        }
    }

    @Test
    void sharedAnonymousMemoryIsWrittenOnceForTheTreeAndCritDecodesIt() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("map_anon_shared", work.resolve("t"))) {
            Dumper.dump(DumpOptions.of(target.pid(), dir).withLeaveRunning(true), new Cancellation());
            List<String> shmem = images(dir).stream().filter(n -> n.startsWith("pagemap-shmem-")).toList();
            assertThat(shmem).as("one object, mapped by parent and child").hasSize(1);
            String decoded = crit(dir.resolve(shmem.getFirst()));
            // 4 MiB mapped; all but its last page (a flag the child sets later) filled: 1023 pages of data
            assertThat(decoded).doesNotStartWith("FAILED").contains("\"nr_pages\": 1023");
            var store = new dev.cryo.images.DirectoryImageStore(dir);
            long pages = 0;
            int pagesId;
            try (var r = store.openReader(shmem.getFirst())) {
                pagesId = ((dev.cryo.images.proto.PagemapHead) r.next()).getPagesId();
                for (var m = r.next(); m != null; m = r.next()) {
                    pages += ((dev.cryo.images.proto.PagemapEntry) m).getNrPages();
                }
            }
            assertThat(pages).isEqualTo(1023);
            assertThat(Files.size(dir.resolve("pages-" + pagesId + ".img"))).isEqualTo(pages * 4096);
        }
    }

    @Test
    void aLeaveRunningDumpKeepsTheTreesCopyOnWriteSharing() throws Exception {
        try (Target target = Target.start("dumpee", work.resolve("t"), "64", "1")) {
            int child = target.processes().get(1);
            long childPages = PagemapCount.privatePages(child);
            long parentPages = PagemapCount.privatePages(target.pid());
            // Reading a page must not unshare it (process_vm_readv's pin would): the second dump still
            // finds the child's 64 MiB shared with its parent, and writes it once.
            for (String step : List.of("img1", "img2")) {
                Path dir = Files.createDirectories(work.resolve(step));
                DumpStats s = Dumper.dump(DumpOptions.of(target.pid(), dir).withLeaveRunning(true).withShellJob(true), new Cancellation());
                assertThat(s.pagesWritten()).as(step).isLessThan(parentPages + childPages / 10);
            }
            assertThat(target.check()).isEqualTo("PASS");
        }
    }

    /** The nsfs inode of a process's IPC namespace: {@code ipc:[4026532175]}. */
    static long ipcNamespace(Object pid) throws Exception {
        String link = Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/ipc")).toString();
        return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
    }

    @Test
    void aTreeWithItsOwnIpcNamespaceHasItsObjectsInItsImagesAndRunsOnIntact() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("sysv_sem_msg", work.resolve("t"))) {
            long ns = ipcNamespace(target.pid());
            assertThat(ns).as("sysv_sem_msg unshared an IPC namespace").isNotEqualTo(ipcNamespace("self"));
            Dumper.dump(DumpOptions.of(target.pid(), dir).withLeaveRunning(true), new Cancellation());
            assertThat(images(dir)).contains("ipcns-var-" + ns + ".img", "ipcns-shm-" + ns + ".img",
                    "ipcns-msg-" + ns + ".img", "ipcns-sem-" + ns + ".img");
            var store = new dev.cryo.images.DirectoryImageStore(dir);
            var inv = store.readEntry(dev.cryo.images.ImageKind.INVENTORY, dev.cryo.images.proto.InventoryEntry.parser());
            assertThat(Integer.toUnsignedLong(inv.getRootIds().getIpcNsId())).as("root_ids: the dumper's namespace")
                    .isEqualTo(ipcNamespace("self"));
            for (int pid : target.processes()) {
                var core = store.readEntry(dev.cryo.images.ImageKind.CORE, pid, dev.cryo.images.proto.CoreEntry.parser());
                assertThat(Integer.toUnsignedLong(core.getIds().getIpcNsId())).as("ipc_ns_id of pid %d", pid).isEqualTo(ns);
            }
            // the named queue: its four messages in order, each with its type and text
            List<String> messages = new ArrayList<>();
            try (var r = store.openReader(dev.cryo.images.ImageKind.IPCNS_MSG, ns)) {
                var queue = r.next(dev.cryo.images.proto.IpcMsgEntry.parser());
                assertThat(queue.getDesc().getKey()).isEqualTo(0x3e55a9e0);
                assertThat(queue.getQbytes()).isEqualTo(12000);
                for (int i = 0; i < queue.getQnum(); i++) {
                    var m = r.next(dev.cryo.images.proto.IpcMsg.parser());
                    byte[] text = r.readPayload();
                    String shown = m.getMsize() > 100 ? m.getMsize() + " bytes" : new String(text, 0, m.getMsize()).replace("\0", "");
                    messages.add(m.getMtype() + ":" + shown);
                    assertThat(text.length % 8).as("padded to 8 bytes").isZero();
                }
            }
            assertThat(messages).containsExactly("1:first", "2:", "1:7000 bytes", "5:last");
            String sems = crit(dir.resolve("ipcns-sem-" + ns + ".img"));
            assertThat(sems).contains("\"nsems\": 3").contains("32767");
            for (String kind : List.of("var", "shm", "msg")) {
                assertThat(crit(dir.resolve("ipcns-" + kind + "-" + ns + ".img"))).doesNotStartWith("FAILED");
            }
            // MSG_COPY leaves the messages where they were: the program finds all it left
            assertThat(target.verdict()).isEqualTo("PASS");
        }
    }
}
