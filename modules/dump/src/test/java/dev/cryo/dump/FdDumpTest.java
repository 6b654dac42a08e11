package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.MemfdInodeEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.proto.SkPacketEntry;
import dev.cryo.images.proto.UnixSkEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * fds_all with a child, dumped with --leave-running: every kind of fd gets its entry, fds sharing one open
 * file description (dup, fork) share one file id, the data of pipes, FIFOs, socket queues and the unlinked
 * file is in the images, crit decodes every image, and the program's own check passes afterwards: the
 * dump read the queued data without consuming it. A memfd that parent and child hold by fd and by mapping
 * is dumped once, and their mappings name it.
 */
class FdDumpTest {
    @TempDir
    Path work;

    @Test
    void everyFdKindIsDumpedSharedDescriptionsShareAnIdAndNothingIsConsumed() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("fds_all", work.resolve("t"), "more", "big", "fork")) {
            int pid = target.pid();
            Dumper.dump(DumpOptions.of(pid, dir).withLeaveRunning(true).withShellJob(true), new Cancellation());

            for (String name : DumpTest.images(dir)) {
                if (!name.startsWith("pages-")) {
                    assertThat(DumpTest.crit(dir.resolve(name))).as(name).doesNotStartWith("FAILED");
                }
            }
            ImageStore store = new DirectoryImageStore(dir);
            List<PstreeEntry> tree;
            try (var r = store.openReader(ImageKind.PSTREE)) {
                tree = r.readAll(PstreeEntry.parser());
            }
            assertThat(tree).hasSize(2);
            int child = tree.stream().filter(p -> p.getPid() != pid).findFirst().orElseThrow().getPid();
            Map<Integer, FdinfoEntry> parent = fdinfo(store, pid);
            Map<Integer, FdinfoEntry> kid = fdinfo(store, child);
            Map<Integer, FileEntry> files = new HashMap<>();
            try (var r = store.openReader(ImageKind.FILES)) {
                r.readAll(FileEntry.parser()).forEach(f -> files.put(f.getId(), f));
            }

            assertThat(parent.get(4).getId()).as("fd 4 is a dup of fd 3").isEqualTo(parent.get(3).getId());
            assertThat(kid.get(3).getId()).as("the child's fd 3 is its parent's (fork)").isEqualTo(parent.get(3).getId());
            assertThat(parent.get(1000).getId()).as("fd 1000 is another opening").isNotEqualTo(parent.get(3).getId());
            FileEntry append = files.get(parent.get(3).getId());
            assertThat(append.getReg().getPos()).isEqualTo(37);
            assertThat(append.getReg().getFlags() & 02000).as("O_APPEND").isNotZero();
            assertThat(files.get(parent.get(9).getId()).getReg().getFlags() & 04010000).as("O_SYNC").isEqualTo(04010000);
            assertThat(parent.get(9).getFlags()).as("fd 9 FD_CLOEXEC").isEqualTo(1);
            assertThat(files.get(parent.get(7).getId()).getEfd().getCounter()).isEqualTo(42);
            assertThat(files.get(parent.get(10).getId()).hasFifo()).isTrue();
            assertThat(files.get(parent.get(12).getId()).getUsk().getPeer())
                    .isEqualTo(files.get(parent.get(13).getId()).getUsk().getIno());
            assertThat(files.get(parent.get(14).getId()).getUsk().getType()).isEqualTo(2); // SOCK_DGRAM
            assertThat(files.get(parent.get(16).getId()).getReg().getName()).endsWith("/gone.txt");

            FileEntry memfd = files.get(parent.get(17).getId());
            assertThat(memfd.getMemfd().getPos()).isEqualTo(3);
            assertThat(DumpTest.crit(dir.resolve("memfd.img"))).contains("cryo-test").contains("\"size\": 5004");
            MemfdInodeEntry inode = memfdInodes(store).get((long) memfd.getMemfd().getInodeId());
            assertThat(inode.getShmid()).as("shmid is the memfd's inode number, as CRIU has it")
                    .isEqualTo((int) (long) Files.getAttribute(Path.of("/proc/" + pid + "/fd/17"), "unix:ino"));
            assertThat(DumpTest.crit(dir.resolve("pagemap-shmem-" + Integer.toUnsignedString(inode.getShmid()) + ".img"))).contains("\"nr_pages\": 2");
            assertThat(DumpTest.crit(dir.resolve("fifo-data.img"))).contains("\"bytes\": 9");
            assertThat(DumpTest.crit(dir.resolve("pipes-data.img"))).contains("\"bytes\": 14");
            Map<Integer, StringBuilder> queues = new HashMap<>();
            try (var r = store.openReader(ImageKind.SK_QUEUES)) {
                for (SkPacketEntry e; (e = r.next(SkPacketEntry.parser())) != null; ) {
                    queues.computeIfAbsent(e.getIdFor(), k -> new StringBuilder()).append(new String(r.readPayload())).append('|');
                }
            }
            assertThat(queues.get(parent.get(12).getId())).hasToString("stream bytes|");
            assertThat(queues.get(parent.get(13).getId())).hasToString("back|");
            assertThat(queues.get(parent.get(14).getId())).hasToString("one|two|");
            String ghost = ImageKind.GHOST_FILE.fileName(parent.get(16).getId());
            assertThat(DumpTest.crit(dir.resolve(ghost))).doesNotStartWith("FAILED");

            assertThat(target.check()).as("fds_all's own check after a --leave-running dump").isEqualTo("PASS");
        }
    }

    @Test
    void aListeningUnixSocketIsDumpedWithItsNameBacklogAndFileMode() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("fds_all", work.resolve("t"), "named")) {
            Dumper.dump(DumpOptions.of(target.pid(), dir).withShellJob(true).withLeaveRunning(true), new Cancellation());
            ImageStore store = new DirectoryImageStore(dir);
            FdinfoEntry fd10;
            try (var r = store.openReader(ImageKind.FDINFO, target.pid())) {
                fd10 = r.readAll(FdinfoEntry.parser()).stream().filter(e -> e.getFd() == 10).findFirst().orElseThrow();
            }
            UnixSkEntry sk;
            try (var r = store.openReader(ImageKind.FILES)) {
                sk = r.readAll(FileEntry.parser()).stream().filter(f -> f.getId() == fd10.getId()).findFirst().orElseThrow().getUsk();
            }
            assertThat(sk.getState()).as("TCP_LISTEN").isEqualTo(10);
            assertThat(sk.getName().toStringUtf8()).as("the path, with the NUL the kernel keeps").isEqualTo(work.resolve("t/sk") + "\0");
            assertThat(sk.getBacklog()).isEqualTo(1);
            assertThat(sk.getFilePerms().getMode() & 0170000).as("a socket file").isEqualTo(0140000);
            assertThat(sk.getDeleted()).isFalse();
            assertThat(target.check()).as("fds_all's own check after the dump").isEqualTo("PASS");
        }
    }

    @Test
    void aMemfdOpenAndMappedInParentAndChildIsDumpedOnceAndItsMappingsNameIt() throws Exception {
        Path dir = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("memfd_fork", work.resolve("t"))) {
            int pid = target.pid();
            Dumper.dump(DumpOptions.of(pid, dir).withLeaveRunning(true), new Cancellation());

            for (String name : DumpTest.images(dir)) {
                if (!name.startsWith("pages-")) {
                    assertThat(DumpTest.crit(dir.resolve(name))).as(name).doesNotStartWith("FAILED");
                }
            }
            ImageStore store = new DirectoryImageStore(dir);
            Map<Long, MemfdInodeEntry> inodes = memfdInodes(store);
            assertThat(inodes).as("memfd.img: the memfd once, for fds and mappings of both processes").hasSize(1);
            MemfdInodeEntry inode = inodes.values().iterator().next();
            assertThat(inode.getName()).isEqualTo("zdtm-memfd-fork");
            assertThat(inode.getSize()).isEqualTo(1L << 20);
            assertThat(inode.getSeals()).as("F_SEAL_SHRINK | F_SEAL_GROW").isEqualTo(6);
            assertThat(DumpTest.images(dir).stream().filter(n -> n.startsWith("pagemap-shmem-")))
                    .as("its contents, once").containsExactly("pagemap-shmem-" + Integer.toUnsignedString(inode.getShmid()) + ".img");
            Map<Integer, FileEntry> files = new HashMap<>();
            try (var r = store.openReader(ImageKind.FILES)) {
                r.readAll(FileEntry.parser()).forEach(f -> files.put(f.getId(), f));
            }
            int child;
            try (var r = store.openReader(ImageKind.PSTREE)) {
                child = r.readAll(PstreeEntry.parser()).stream().mapToInt(PstreeEntry::getPid).filter(p -> p != pid).findFirst().orElseThrow();
            }
            for (int p : new int[] {pid, child}) {
                FileEntry fd = files.get(fdinfo(store, p).get(3).getId());
                assertThat((long) fd.getMemfd().getInodeId()).as("fd 3 of %d", p).isEqualTo(inode.getInodeId());
                List<VmaEntry> maps = store.readEntry(ImageKind.MM, p, MmEntry.parser()).getVmasList().stream()
                        .filter(v -> (v.getStatus() & VmaStatus.VMA_AREA_MEMFD) != 0).toList();
                assertThat(maps).as("memfd mappings of %d", p).hasSize(1);
                VmaEntry v = maps.getFirst();
                assertThat(v.getStatus() & VmaStatus.VMA_FILE_SHARED).isNotZero();
                assertThat(v.getFdflags()).as("O_RDWR").isEqualTo(2);
                FileEntry mapped = files.get((int) v.getShmid());
                assertThat(mapped.hasMemfd()).as("the mapping names a memfd file").isTrue();
                assertThat((long) mapped.getMemfd().getInodeId()).isEqualTo(inode.getInodeId());
            }
        }
    }

    private static Map<Long, MemfdInodeEntry> memfdInodes(ImageStore store) {
        Map<Long, MemfdInodeEntry> out = new HashMap<>();
        try (var r = store.openReader(ImageKind.MEMFD_INODE)) {
            r.readAll(MemfdInodeEntry.parser()).forEach(m -> out.put(m.getInodeId(), m));
        }
        return out;
    }

    private static Map<Integer, FdinfoEntry> fdinfo(ImageStore store, int pid) {
        Map<Integer, FdinfoEntry> out = new HashMap<>();
        try (var r = store.openReader(ImageKind.FDINFO, pid)) {
            r.readAll(FdinfoEntry.parser()).forEach(f -> out.put(f.getFd(), f));
        }
        return out;
    }
}
