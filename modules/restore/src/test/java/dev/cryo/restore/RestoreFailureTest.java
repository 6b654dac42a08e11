package dev.cryo.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.Dumper;
import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.EntryWriter;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FdinfoEntry;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.images.proto.TaskCoreEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.images.VmaStatus;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * Bad input: every refusal is one line naming what and where, exits with a RestoreException, and leaves
 * no process behind (no task with a dumped pid, nothing below the test JVM).
 */
class RestoreFailureTest {
    @TempDir
    static Path shared;
    @TempDir
    Path work;

    static Path dump;
    static List<Integer> pids = new ArrayList<>();
    static List<Integer> ids = new ArrayList<>();

    @BeforeAll
    static void dumpATree() throws Exception {
        Path dir = shared.resolve("t");
        dump = Files.createDirectories(shared.resolve("img"));
        try (Target target = Target.start("rst_tree", dir, "16", "2")) {
            pids.add(target.pid());
            pids.addAll(TreeRestoreTest.family(dir));
            for (int pid : pids) {
                ids.addAll(TreeRestoreTest.Proc.of(pid).tids());
            }
            Dumper.dump(DumpOptions.of(target.pid(), dump), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
    }

    /** A copy of the dump to damage. */
    private Path copy() throws IOException {
        Path to = Files.createDirectories(work.resolve("img"));
        try (Stream<Path> s = Files.list(dump)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }

    /** Restores {@code images}, which must fail; returns the message, after checking nothing was left behind. */
    private String fails(Path images) throws Exception {
        return fails(images, false);
    }

    private String fails(Path images, boolean pidns) throws Exception {
        RestoreException e = null;
        try {
            Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true).withPidns(pidns), new Cancellation());
            TreeRestoreTest.killAll(ids);
        } catch (RestoreException x) {
            e = x;
        }
        assertThat(e).as("the restore of damaged images fails").isNotNull();
        assertNothingLeft();
        assertThat(e.getMessage()).doesNotContain("\n").startsWith("cannot restore from " + images);
        return e.getMessage();
    }

    /** Restores {@code images}, which may work (damage that no check can see) or fail with one line. */
    private void failsCleanlyOrRuns(Path images) throws Exception {
        try {
            Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation());
            TreeRestoreTest.killAll(ids);
        } catch (RestoreException x) {
            assertThat(x.getMessage()).doesNotContain("\n").startsWith("cannot restore from " + images);
        }
        assertNothingLeft();
    }

    static void assertNothingLeft() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<Long> below = ProcessHandle.current().descendants().map(ProcessHandle::pid).toList();
        while (!below.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            below = ProcessHandle.current().descendants().map(ProcessHandle::pid).toList();
        }
        assertThat(below).as("processes below the test JVM after the restore").isEmpty();
        for (int id : ids) {
            assertThat(Path.of("/proc/" + id)).as("task %d", id).doesNotExist();
        }
    }

    @Test
    void aMissingDirectoryIsRefused() throws Exception {
        assertThat(fails(work.resolve("nothing-here"))).contains("no such directory");
    }

    @ParameterizedTest
    @ValueSource(strings = {"core-THREAD", "core-CHILD", "mm-CHILD", "pagemap-ROOT", "pages-1", "inventory", "pstree"})
    void aMissingImageIsNamed(String which) throws Exception {
        Path images = copy();
        String name = which.replace("THREAD", ids.get(1).toString()).replace("CHILD", pids.get(1).toString())
                .replace("ROOT", pids.get(0).toString()) + ".img";
        Files.delete(images.resolve(name));
        assertThat(fails(images)).contains(which.equals("inventory") ? "no inventory.img" : name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"core-ROOT", "mm-CHILD", "pagemap-ROOT", "pstree"})
    void aTruncatedImageIsNamed(String which) throws Exception {
        Path images = copy();
        String name = which.replace("CHILD", pids.get(1).toString()).replace("ROOT", pids.get(0).toString()) + ".img";
        try (RandomAccessFile f = new RandomAccessFile(images.resolve(name).toFile(), "rw")) {
            f.setLength(f.length() * 2 / 3);
        }
        assertThat(fails(images)).contains(name);
    }

    @Test
    void truncatedPagesAreNamedWithTheOffset() throws Exception {
        Path images = copy();
        try (RandomAccessFile f = new RandomAccessFile(images.resolve("pages-1.img").toFile(), "rw")) {
            f.setLength(f.length() - 4096);
        }
        assertThat(fails(images)).contains("pages-1.img is truncated at offset");
    }

    @Test
    void aPagemapPointingPastThePagesFileIsRefused() throws Exception {
        Path images = copy();
        int root = pids.get(0);
        DirectoryImageStore store = new DirectoryImageStore(images);
        PagemapHead head;
        List<PagemapEntry> entries;
        try (var r = store.openReader(ImageKind.PAGEMAP, root)) {
            head = r.next(PagemapHead.parser());
            entries = new ArrayList<>(r.readAll(PagemapEntry.parser()));
        }
        // one more run of pages, inside a mapping, past the end of pages-N.img
        PagemapEntry last = entries.getLast();
        entries.add(PagemapEntry.newBuilder(entries.getFirst()).setNrPages(1).build());
        store.delete(ImageKind.PAGEMAP.fileName(root));
        try (EntryWriter w = store.openWriter(ImageKind.PAGEMAP, root)) {
            w.write(head);
            for (PagemapEntry e : entries) {
                w.write(e);
            }
            w.commit();
        }
        assertThat(last).isNotNull();
        assertThat(fails(images)).contains("pages-" + head.getPagesId() + ".img is truncated");
    }

    @ParameterizedTest
    @ValueSource(strings = {"core-ROOT", "core-THREAD", "mm-ROOT", "mm-CHILD", "pagemap-ROOT", "pagemap-CHILD", "pages-1", "pstree"})
    void flippedBytesFailCleanlyOrRestore(String which) throws Exception {
        String name = which.replace("THREAD", ids.get(1).toString()).replace("CHILD", pids.get(1).toString())
                .replace("ROOT", pids.get(0).toString()) + ".img";
        for (long seed = 1; seed <= 4; seed++) {
            Path images = copy();
            Random random = new Random(seed * 31 + which.hashCode());
            try (RandomAccessFile f = new RandomAccessFile(images.resolve(name).toFile(), "rw")) {
                for (int i = 0; i < 8; i++) {
                    long at = 8 + (long) (random.nextDouble() * (f.length() - 8)); // past the magics
                    f.seek(at);
                    int b = f.read();
                    f.seek(at);
                    f.write(b ^ (1 + random.nextInt(255)));
                }
            }
            failsCleanlyOrRuns(images);
            try (Stream<Path> s = Files.walk(images)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void aTakenPidIsNamed() throws Exception {
        Path dir = work.resolve("t");
        Path images = Files.createDirectories(work.resolve("img"));
        try (Target target = Target.start("rst_tree", dir, "4", "1")) {
            Dumper.dump(DumpOptions.of(target.pid(), images).withLeaveRunning(true), new Cancellation());
            assertThatThrownBy(() -> Restorer.restore(RestoreOptions.of(images).withShellJob(true).withDetached(true), new Cancellation()))
                    .isInstanceOf(RestoreException.class)
                    .hasMessageContaining("pid " + target.pid() + " is taken (by rst_tree)");
            assertThat(target.check()).as("the original runs on").isEqualTo("PASS");
        }
    }

    /**
     * Adds to the dump in {@code images} a zombie child of the root (at a pid no task holds) that ended with
     * {@code status}, as cryo dumps one: a pstree entry and a core with task state only. Returns its pid.
     */
    private static int addZombie(Path images, int status) throws IOException {
        DirectoryImageStore store = new DirectoryImageStore(images);
        List<PstreeEntry> tree;
        try (var r = store.openReader(ImageKind.PSTREE)) {
            tree = new ArrayList<>(r.readAll(PstreeEntry.parser()));
        }
        int zombie = 30000;
        while (Files.exists(Path.of("/proc/" + zombie)) || ids.contains(zombie)) {
            zombie--;
        }
        PstreeEntry root = tree.getFirst();
        tree.add(PstreeEntry.newBuilder().setPid(zombie).setPpid(root.getPid()).setPgid(root.getPgid()).setSid(root.getSid())
                .addThreads(zombie).build());
        store.delete(ImageKind.PSTREE.fileName());
        try (EntryWriter w = store.openWriter(ImageKind.PSTREE)) {
            for (PstreeEntry e : tree) {
                w.write(e);
            }
            w.commit();
        }
        store.writeEntry(ImageKind.CORE, zombie, CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64)
                .setTc(TaskCoreEntry.newBuilder().setTaskState(2).setExitCode(status).setPersonality(0).setFlags(0)
                        .setBlkSigset(0).setComm("zombie"))
                .build());
        return zombie;
    }

    /** A zombie's status must be one a process ends with: restore makes it again by exiting or being killed. */
    @ParameterizedTest
    @ValueSource(ints = {0x137f /* a stop by SIGSTOP */, 17 /* SIGCHLD, ignored by default */, 0x2a01 /* an exit code and a signal */})
    void aZombieWithAStatusNoProcessEndsWithIsRefused(int status) throws Exception {
        Path images = copy();
        int zombie = addZombie(images, status);
        assertThat(fails(images)).contains("core-" + zombie + ".img: exit_code 0x" + Integer.toHexString(status)
                + " is no status a process ends with");
    }

    /** The root's fds fail after its zombie ended: the tree is killed, and the zombie, gone to the keeper, reaped. */
    @Test
    void aFailureAfterAZombieEndedLeavesNothing() throws Exception {
        Path images = copy();
        int root = pids.get(0);
        int zombie = addZombie(images, 42 << 8);
        DirectoryImageStore store = new DirectoryImageStore(images);
        List<FdinfoEntry> fds = new ArrayList<>();
        if (store.exists(ImageKind.FDINFO.fileName(root))) {
            try (var r = store.openReader(ImageKind.FDINFO, root)) {
                fds.addAll(r.readAll(FdinfoEntry.parser()));
            }
            store.delete(ImageKind.FDINFO.fileName(root));
        }
        fds.add(FdinfoEntry.newBuilder().setId(999_999).setFlags(0).setType(FdTypes.REG).setFd(50).build());
        try (EntryWriter w = store.openWriter(ImageKind.FDINFO, root)) {
            for (FdinfoEntry f : fds) {
                w.write(f);
            }
            w.commit();
        }
        assertThat(fails(images)).contains("pid " + root + ", fds");
        assertThat(Path.of("/proc/" + zombie)).as("the zombie").doesNotExist();
    }

    /** The child's memory step fails after the root was built: the root, the child and the puppets all go. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aFailureInTheMiddleOfTheTreeKillsEverythingCreated(boolean pidns) throws Exception {
        Path images = copy();
        int child = pids.get(1);
        DirectoryImageStore store = new DirectoryImageStore(images);
        MmEntry mm = store.readEntry(ImageKind.MM, child, MmEntry.parser());
        int dirId = store.readEntry(ImageKind.FS, child, FsEntry.parser()).getCwdId();
        // the largest anonymous private mapping becomes a private mapping of a directory: mmap says ENODEV
        VmaEntry big = mm.getVmasList().stream().filter(v -> (v.getStatus() & VmaStatus.VMA_ANON_PRIVATE) != 0)
                .max(Comparator.comparingLong(v -> v.getEnd() - v.getStart())).orElseThrow();
        int i = mm.getVmasList().indexOf(big);
        MmEntry bad = mm.toBuilder().setVmas(i, big.toBuilder()
                .setStatus(VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_FILE_PRIVATE).setShmid(dirId)
                .setFlags(big.getFlags() & ~0x20)).build(); // not MAP_ANONYMOUS
        store.delete(ImageKind.MM.fileName(child));
        store.writeEntry(ImageKind.MM, child, bad);
        assertThat(fails(images, pidns)).contains("pid " + child + ", memory: mmap(");
    }
}
