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

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
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
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FownEntry;
import dev.cryo.images.proto.FsEntry;
import dev.cryo.images.proto.InventoryEntry;
import dev.cryo.images.proto.MemfdFileEntry;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.RegFileEntry;
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
    @ValueSource(strings = {"core-THREAD", "core-CHILD", "mm-CHILD", "pagemap-ROOT", "pages-1", "inventory", "pstree",
            "fs-CHILD", "fdinfo-GRANDCHILD"})
    void aMissingImageIsNamed(String which) throws Exception {
        Path images = copy();
        String name = which.replace("THREAD", ids.get(1).toString()).replace("GRANDCHILD", pids.get(2).toString())
                .replace("CHILD", pids.get(1).toString()).replace("ROOT", pids.get(0).toString()) + ".img";
        Files.delete(images.resolve(name));
        assertThat(fails(images)).contains(switch (which) {
            case "inventory" -> "no inventory.img";
            case "pstree" -> "cannot open pstree.img";
            default -> name + " is missing";
        });
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
        // a file that files.img holds, at a path that does not exist: only opening it fails, in the fds step
        List<FileEntry> files = entries(store, ImageKind.FILES, FileEntry.parser());
        files.add(FileEntry.newBuilder().setType(FdTypes.REG).setId(999_999).setReg(RegFileEntry.newBuilder().setId(999_999)
                .setFlags(0).setPos(0).setFown(FOWN).setName("/nonexistent-cryo-test/gone")).build());
        rewrite(store, ImageKind.FILES, files);
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

    // Images that are each well formed but disagree with one another (ImageConsistency): refused before anything starts.

    private static final FownEntry FOWN = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();

    private static <T extends Message> List<T> entries(DirectoryImageStore store, ImageKind kind, Parser<T> parser) {
        try (var r = store.openReader(kind)) {
            return new ArrayList<>(r.readAll(parser));
        }
    }

    private static <T extends Message> List<T> entries(DirectoryImageStore store, ImageKind kind, long id, Parser<T> parser) {
        try (var r = store.openReader(kind, id)) {
            return new ArrayList<>(r.readAll(parser));
        }
    }

    private static void rewrite(DirectoryImageStore store, ImageKind kind, List<? extends Message> entries) {
        store.delete(kind.fileName());
        try (EntryWriter w = store.openWriter(kind)) {
            entries.forEach(w::write);
            w.commit();
        }
    }

    private static void rewrite(DirectoryImageStore store, ImageKind kind, long id, List<? extends Message> entries) {
        store.delete(kind.fileName(id));
        try (EntryWriter w = store.openWriter(kind, id)) {
            entries.forEach(w::write);
            w.commit();
        }
    }

    /** The threads of {@code pid} other than its leader, as pstree.img lists them. */
    private static List<Integer> otherThreads(DirectoryImageStore store, int pid) {
        return entries(store, ImageKind.PSTREE, PstreeEntry.parser()).stream().filter(e -> e.getPid() == pid)
                .flatMap(e -> e.getThreadsList().stream()).filter(t -> t != pid).toList();
    }

    private static void swap(Path images, String a, String b) throws IOException {
        Path tmp = images.resolve("swap.tmp");
        Files.move(images.resolve(a), tmp);
        Files.move(images.resolve(b), images.resolve(a));
        Files.move(tmp, images.resolve(b));
    }

    /** An inventory.img that is empty, has no entry, a wrong magic, or a version cryo does not read. */
    @ParameterizedTest
    @ValueSource(strings = {"empty", "no entry", "bad magic", "version 0xffffffff"})
    void aBadInventoryIsRefused(String damage) throws Exception {
        Path images = copy();
        Path inventory = images.resolve("inventory.img");
        switch (damage) {
            case "empty" -> Files.write(inventory, new byte[0]);
            case "no entry" -> {
                byte[] all = Files.readAllBytes(inventory);
                Files.write(inventory, java.util.Arrays.copyOf(all, 4)); // the magic alone (inventory has no head magic)
            }
            case "bad magic" -> {
                byte[] all = Files.readAllBytes(inventory);
                all[0] ^= 0x5a;
                Files.write(inventory, all);
            }
            default -> {
                DirectoryImageStore store = new DirectoryImageStore(images);
                InventoryEntry inv = store.readEntry(ImageKind.INVENTORY, InventoryEntry.parser());
                store.delete("inventory.img");
                store.writeEntry(ImageKind.INVENTORY, inv.toBuilder().setImgVersion(0xffffffff).build());
            }
        }
        String message = fails(images);
        assertThat(message).contains("inventory.img");
        if (damage.startsWith("version")) {
            assertThat(message).contains("inventory.img: img_version 4294967295 (0xffffffff); cryo restores version 2");
        }
    }

    /** A missing fs-PID.img gave the task cryo's own cwd; a cwd that files.img lacks is as bad. */
    @Test
    void anFsImageNamingNoFileIsRefused() throws Exception {
        Path images = copy();
        int child = pids.get(1);
        DirectoryImageStore store = new DirectoryImageStore(images);
        FsEntry fs = store.readEntry(ImageKind.FS, child, FsEntry.parser());
        rewrite(store, ImageKind.FS, child, List.of(fs.toBuilder().setCwdId(999_999).build()));
        assertThat(fails(images)).contains("fs-" + child + ".img: cwd_id 999999 is no file of files.img, not a directory's path");
    }

    @Test
    void anFdNamingNoFileIsRefused() throws Exception {
        Path images = copy();
        int root = pids.get(0);
        DirectoryImageStore store = new DirectoryImageStore(images);
        List<FdinfoEntry> fds = entries(store, ImageKind.FDINFO, root, FdinfoEntry.parser());
        fds.add(FdinfoEntry.newBuilder().setId(999_999).setFlags(0).setType(FdTypes.REG).setFd(50).build());
        rewrite(store, ImageKind.FDINFO, root, fds);
        assertThat(fails(images)).contains("fdinfo-" + root + ".img: fd 50 names file id 999999, which files.img does not hold");
    }

    @Test
    void anFdOfAnotherTypeThanItsFileIsRefused() throws Exception {
        Path images = copy();
        int root = pids.get(0);
        DirectoryImageStore store = new DirectoryImageStore(images);
        List<FdinfoEntry> fds = entries(store, ImageKind.FDINFO, root, FdinfoEntry.parser());
        FdinfoEntry first = fds.getFirst();
        FdTypes other = first.getType() == FdTypes.PIPE ? FdTypes.REG : FdTypes.PIPE;
        fds.set(0, first.toBuilder().setType(other).build());
        rewrite(store, ImageKind.FDINFO, root, fds);
        assertThat(fails(images)).contains("fdinfo-" + root + ".img: fd " + first.getFd() + " is of type " + other
                + ", but file id " + first.getId() + " of files.img is a " + first.getType());
    }

    /** Pipe data for a pipe id that no pipe has was dropped (the pipe came back empty). */
    @Test
    void pipeDataForNoPipeIsRefused() throws Exception {
        Path images = copy();
        DirectoryImageStore store = new DirectoryImageStore(images);
        List<PipeDataEntry> data = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        try (var r = store.openReader(ImageKind.PIPES_DATA)) {
            for (PipeDataEntry e; (e = r.next(PipeDataEntry.parser())) != null; ) {
                data.add(e);
                payloads.add(r.readPayload());
            }
        }
        byte[] orphan = "nobody's data".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        data.add(PipeDataEntry.newBuilder().setPipeId(0x7ffffff0).setBytes(orphan.length).build());
        payloads.add(orphan);
        store.delete(ImageKind.PIPES_DATA.fileName());
        try (EntryWriter w = store.openWriter(ImageKind.PIPES_DATA)) {
            for (int i = 0; i < data.size(); i++) {
                w.write(data.get(i));
                if (payloads.get(i).length > 0) {
                    w.writePayload(payloads.get(i));
                }
            }
            w.commit();
        }
        assertThat(fails(images)).contains("pipes-data.img: entry " + (data.size() - 1) + " holds 13 bytes for pipe id "
                + 0x7ffffff0 + ", which no pipe of files.img has");
    }

    @Test
    void aMemfdWithoutItsInodeIsRefused() throws Exception {
        Path images = copy();
        DirectoryImageStore store = new DirectoryImageStore(images);
        List<FileEntry> files = entries(store, ImageKind.FILES, FileEntry.parser());
        files.add(FileEntry.newBuilder().setType(FdTypes.MEMFD).setId(999_998).setMemfd(MemfdFileEntry.newBuilder()
                .setId(999_998).setFlags(2).setPos(0).setFown(FOWN).setInodeId(4242)).build());
        rewrite(store, ImageKind.FILES, files);
        assertThat(fails(images)).contains("files.img: MEMFD file id 999998 names memfd inode 4242, which memfd.img does not hold");
    }

    @Test
    void anExecutableThatFilesLackIsRefused() throws Exception {
        Path images = copy();
        int child = pids.get(1);
        DirectoryImageStore store = new DirectoryImageStore(images);
        MmEntry mm = store.readEntry(ImageKind.MM, child, MmEntry.parser());
        rewrite(store, ImageKind.MM, child, List.of(mm.toBuilder().setExeFileId(999_999).build()));
        assertThat(fails(images)).contains("mm-" + child + ".img: exe_file_id 999999 is no file of files.img, not the executable's path");
    }

    @Test
    void sharedMemoryWithoutItsPagemapIsRefused() throws Exception {
        Path images = copy();
        String shmem;
        try (Stream<Path> s = Files.list(images)) {
            shmem = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("pagemap-shmem-")).findFirst().orElseThrow();
        }
        Files.delete(images.resolve(shmem));
        assertThat(fails(images)).contains(shmem + " is missing (mapping 0x");
    }

    @Test
    void aStackPointerOutsideTheMemoryIsRefused() throws Exception {
        Path images = copy();
        int child = pids.get(1);
        DirectoryImageStore store = new DirectoryImageStore(images);
        CoreEntry core = store.readEntry(ImageKind.CORE, child, CoreEntry.parser());
        CoreEntry.Builder b = core.toBuilder();
        b.getThreadInfoBuilder().getGpregsBuilder().setSp(0x10);
        rewrite(store, ImageKind.CORE, child, List.of(b.build()));
        assertThat(fails(images)).contains("core-" + child + ".img: sp 0x10 lies in no mapping of mm-" + child + ".img");
    }

    @Test
    void aCoreOfNoTaskIsRefused() throws Exception {
        Path images = copy();
        int stray = 30000;
        while (ids.contains(stray)) {
            stray--;
        }
        Files.copy(images.resolve("core-" + pids.get(1) + ".img"), images.resolve("core-" + stray + ".img"));
        assertThat(fails(images)).contains("core-" + stray + ".img belongs to no task of pstree.img");
    }

    /** The root's and its child's cores swapped restored with exit 0, and both processes segfaulted. */
    @Test
    void theRootsAndItsChildsCoresSwappedAreRefused() throws Exception {
        Path images = copy();
        int root = pids.get(0);
        int child = pids.get(1);
        swap(images, "core-" + root + ".img", "core-" + child + ".img");
        assertThat(fails(images)).contains("inventory.img: root_ids (vm_id " + root + ") are not those of core-" + root
                + ".img (vm_id " + child + "), the root's core");
    }

    /** Two processes below the root, forked from one another, have the same memory layout: their ids tell them apart. */
    @Test
    void aChildsAndAGrandchildsCoresSwappedAreRefused() throws Exception {
        Path images = copy();
        int child = pids.get(1);
        int grandchild = pids.get(2);
        swap(images, "core-" + child + ".img", "core-" + grandchild + ".img");
        assertThat(fails(images)).contains("core-" + child + ".img holds the ids of pid " + grandchild
                + " (vm_id): it is the core of pid " + grandchild + ", not of pid " + child);
    }

    /** Two threads' cores swapped: each thread's clear_tid word, in its TLS, holds its own tid. */
    @Test
    void twoThreadsCoresSwappedAreRefused() throws Exception {
        Path images = copy();
        int root = pids.get(0);
        List<Integer> threads = otherThreads(new DirectoryImageStore(images), root);
        int a = threads.get(0);
        int b = threads.get(1);
        swap(images, "core-" + a + ".img", "core-" + b + ".img");
        String message = fails(images);
        assertThat(message).containsAnyOf(
                "core-" + a + ".img: clear_tid_addr ", "core-" + b + ".img: clear_tid_addr ");
        assertThat(message).containsAnyOf("it is the core of thread " + b + ", not of " + a,
                "it is the core of thread " + a + ", not of " + b);
    }

    /** A leader's core given to a thread: only a leader's core has task state. */
    @Test
    void aLeadersAndAThreadsCoresSwappedAreRefused() throws Exception {
        Path images = copy();
        int root = pids.get(0);
        int thread = otherThreads(new DirectoryImageStore(images), root).getFirst();
        swap(images, "core-" + root + ".img", "core-" + thread + ".img");
        assertThat(fails(images)).contains("core-" + root + ".img holds no task state (tc)");
    }

    /**
     * A dump on top of a pre-dump: the pages it leaves in the parent must be there, in a pages image long
     * enough (checked down the chain before anything starts), and the parent link must be there at all.
     */
    @ParameterizedTest
    @ValueSource(strings = {"parent pages truncated", "parent link gone"})
    void pagesLeftInAParentMustBeThere(String damage) throws Exception {
        Path dir = work.resolve("t");
        Path pre = Files.createDirectories(work.resolve("pre1"));
        Path last = Files.createDirectories(work.resolve("last"));
        List<Integer> chainIds = new ArrayList<>();
        try (Target target = Target.start("rst_tree", dir, "16", "1")) {
            List<Integer> family = new ArrayList<>(List.of(target.pid()));
            family.addAll(TreeRestoreTest.family(dir));
            for (int pid : family) {
                chainIds.addAll(TreeRestoreTest.Proc.of(pid).tids());
            }
            Dumper.preDump(DumpOptions.of(target.pid(), pre).withPreDumpMode(dev.cryo.dump.PreDumpMode.READ), new Cancellation());
            Dumper.dump(DumpOptions.of(target.pid(), last).withPrevImagesDir(Path.of("..", "pre1")).withTrackMem(true), new Cancellation());
            assertThat(target.awaitExit(30)).isTrue();
        }
        if (damage.equals("parent link gone")) {
            Files.delete(last.resolve("parent"));
        } else {
            try (RandomAccessFile f = new RandomAccessFile(pre.resolve("pages-1.img").toFile(), "rw")) {
                f.setLength(f.length() - 4096);
            }
        }
        RestoreException e = null;
        try {
            Restorer.restore(RestoreOptions.of(last).withDetached(true), new Cancellation());
            TreeRestoreTest.killAll(chainIds);
        } catch (RestoreException x) {
            e = x;
        }
        assertThat(e).as("the restore of a broken chain fails").isNotNull();
        assertThat(e.getMessage()).doesNotContain("\n").startsWith("cannot restore from " + last + ": checking images: ")
                .contains(damage.equals("parent link gone")
                        ? "pages marked in-parent, but the images have no parent snapshot"
                        : "pages-1.img of images in " + pre.toRealPath() + " is truncated at offset");
        for (int id : chainIds) {
            assertThat(Path.of("/proc/" + id)).as("task %d", id).doesNotExist();
        }
        assertThat(ProcessHandle.current().descendants().toList()).as("processes below the test JVM").isEmpty();
    }
}
