package dev.cryo.restore.internal;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.bindings.Linux;
import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageFormatException;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.CoreEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.parasite.Cancellation;
import dev.cryo.parasite.Tracer;
import dev.cryo.restore.RestoreException;
import dev.cryo.restore.RestoreOptions;
import dev.cryo.restore.RestoreStats;
import dev.cryo.syscalls.ErrnoException;

/**
 * One restore, start to end: read the images, start the keeper and its puppet, build the task inside the
 * puppet on the tracer thread, release it. Any failure kills the puppets, and with them the keeper.
 */
public final class RestoreRun {
    private final RestoreOptions options;
    private final Cancellation cancel;
    private final ImageStore store;

    private RestoreRun(RestoreOptions options, Cancellation cancel) {
        this.options = options;
        this.cancel = cancel;
        this.store = new DirectoryImageStore(options.imagesDir());
    }

    /** The images of one single-threaded process, read before anything is started. */
    private record TaskImages(PstreeEntry pstree, CoreEntry core, MmEntry mm, Map<Integer, String> paths) {
        int pid() {
            return pstree.getPid();
        }
    }

    public static RestoreStats run(RestoreOptions options, Cancellation cancel) throws RestoreException {
        if (!Files.isDirectory(options.imagesDir())) {
            throw new RestoreException("cannot restore from " + options.imagesDir() + ": no such directory");
        }
        RestoreRun run = new RestoreRun(options, cancel);
        long start = System.nanoTime();
        TaskImages images;
        try {
            images = run.readImages();
        } catch (RuntimeException e) {
            throw explain(options, e);
        }
        Keeper keeper;
        try {
            keeper = Keeper.start();
        } catch (RuntimeException e) {
            throw explain(options, e);
        }
        Restored restored;
        try {
            restored = Tracer.call("restore-" + images.pid(), () -> run.restoreTask(keeper, images));
        } catch (Exception e) {
            keeper.close(); // the puppets are dead: the keeper exits by itself
            throw explain(options, e);
        }
        int exit = -1;
        if (!options.detached()) {
            try {
                exit = keeper.awaitEmpty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RestoreException("interrupted while waiting for the restored tree; it runs on", e);
            }
        }
        return new RestoreStats(restored.pid(), restored.pages(), System.nanoTime() - start, exit);
    }

    private static RestoreException explain(RestoreOptions o, Exception e) {
        String why = switch (e) {
            case ErrnoException x -> x.getMessage();
            case UncheckedIOException u -> u.getMessage();
            case ImageFormatException f -> f.getMessage();
            case Cancellation.CancelledException c -> "restore " + c.getMessage();
            case RuntimeException r when r.getMessage() != null -> r.getMessage();
            default -> e.toString();
        };
        return new RestoreException("cannot restore from " + o.imagesDir() + ": " + why, e);
    }

    private TaskImages readImages() {
        if (!store.exists(ImageKind.INVENTORY.fileName())) {
            throw new IllegalStateException("no inventory.img: the directory holds no complete dump");
        }
        List<PstreeEntry> tree;
        try (var r = store.openReader(ImageKind.PSTREE)) {
            tree = r.readAll(PstreeEntry.parser());
        }
        if (tree.size() != 1) {
            throw new IllegalStateException("the dump holds " + tree.size() + " processes; restore handles one process so far");
        }
        PstreeEntry root = tree.getFirst();
        if (root.getThreadsCount() != 1) {
            throw new IllegalStateException("pid " + root.getPid() + " has " + root.getThreadsCount()
                    + " threads; restore handles single-threaded processes so far");
        }
        CoreEntry core = store.readEntry(ImageKind.CORE, root.getPid(), CoreEntry.parser());
        MmEntry mm = store.readEntry(ImageKind.MM, root.getPid(), MmEntry.parser());
        long ip = core.getThreadInfo().getGpregs().getIp();
        if (mm.getVmasList().stream().noneMatch(v -> ip >= v.getStart() && ip < v.getEnd())) {
            // e.g. registers read while the dump's parasite ran in the thread: the task would fault at once
            throw new IllegalStateException("core-" + root.getPid() + ".img: ip 0x" + Long.toHexString(ip)
                    + " lies in no mapping of mm-" + root.getPid() + ".img");
        }
        Map<Integer, String> paths = new HashMap<>();
        try (var r = store.openReader(ImageKind.FILES)) {
            for (FileEntry f : r.readAll(FileEntry.parser())) {
                if (f.hasReg()) {
                    String name = f.getReg().getName();
                    paths.put(f.getId(), name.startsWith("/") ? name : "/" + name);
                }
            }
        }
        return new TaskImages(root, core, mm, paths);
    }

    /** The task as it runs again: its pid (the dumped one, unless asked otherwise) and the pages filled in. */
    private record Restored(int pid, long pages) {}

    /** On the tracer thread: builds the task in a puppet and lets it run. */
    private Restored restoreTask(Keeper keeper, TaskImages img) {
        try (Puppet root = Puppet.seize(keeper.puppetPid())) {
            List<MemoryRestore.Mapping> stub = MemoryRestore.maps(root.pid());
            long vdsoSpan = MemoryRestore.vdsoSpan(stub);
            long area = MemoryRestore.freeArea(img.mm().getVmasList(), stub, Puppet.TRAMPOLINE_SIZE + vdsoSpan);
            root.placeTrampoline(area);
            cancel.check();
            Puppet task = options.samePid() ? root.cloneWithPid(img.pid()) : root;
            try {
                long pages = build(task, img, area, vdsoSpan);
                int pid = task.pid();
                task.release();
                return new Restored(pid, pages);
            } finally {
                if (task != root) {
                    task.close();
                }
            }
        }
    }

    private long build(Puppet p, TaskImages img, long area, long vdsoSpan) {
        stdioToDevNull(p);
        List<MemoryRestore.Mapping> before = MemoryRestore.maps(p.pid());
        long parked = area + Puppet.TRAMPOLINE_SIZE;
        MemoryRestore.parkVdso(p, before, parked);
        MemoryRestore.clearPuppet(p, area, parked + vdsoSpan);
        cancel.check();
        MemoryRestore.mapVmas(p, img.mm(), img.paths());
        long pages = MemoryRestore.fillPages(p, store, img.pid());
        cancel.check();
        MemoryRestore.protect(p, img.mm());
        MemoryRestore.placeVdso(p, img.mm(), before, parked);
        String exe = img.paths().get(img.mm().getExeFileId());
        if (exe != null) {
            MemoryRestore.setMmMap(p, img.mm(), exe);
        }
        if (img.core().hasTc()) {
            ThreadRestore.sigactions(p, img.core().getTc().getSigactionsList());
        }
        ThreadRestore.kernelState(p, img.core());
        p.removeTrampoline();
        ThreadRestore.registers(p, img.core());
        return pages;
    }

    /**
     * The puppet's stdout is the pipe it told its pid through; fds 0-2 become /dev/null until fds are
     * restored from fdinfo images.
     */
    private static void stdioToDevNull(Puppet p) {
        int fd = MemoryRestore.openInTask(p, "/dev/null", Linux.O_RDWR());
        for (int i = 0; i <= 2; i++) {
            if (fd != i) {
                p.syscall("dup2", Linux.__NR_dup2(), fd, i);
            }
        }
        if (fd > 2) {
            p.syscall("close", Linux.__NR_close(), fd);
        }
    }
}
