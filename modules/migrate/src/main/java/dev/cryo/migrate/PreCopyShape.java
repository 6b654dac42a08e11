package dev.cryo.migrate;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.EntryReader;
import dev.cryo.images.EntryWriter;
import dev.cryo.images.ImageKind;
import dev.cryo.images.PagemapFlags;
import dev.cryo.images.Pagemaps;
import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;

/**
 * The shape pre-copy leaves in a final dump, given to the images of the rehearsal's decoy ({@link RestoreRehearsal}):
 * a final dump after a pre-copy round of a tree that kept writing has thousands of runs (about five per MiB of a tree
 * that writes 1% of its pages every 100 ms: 10,500 at 2 GiB), alternately in the parent snapshot and its own, and the
 * destination walks each of them several times while the tree is down (reading the pagemap, checking it, resolving it
 * through the chain, the memory, the lazy-pages daemon's pieces). A decoy ({@code sleep}) has a few dozen runs: rehearsed
 * on it, that code was still interpreted in the real restore (the walk of the runs alone: 15-20 ms against 3 ms
 * compiled, at 2 GiB). So the decoy gets a mapping of {@value #RUNS} one-page runs, alternately in a parent snapshot made
 * for it and in its own pages image, as a final dump after pre-copy has them. The pages are holes of sparse images:
 * they cost no memory, and read as zeros.
 */
final class PreCopyShape {
    private PreCopyShape() {}

    /** Runs added: C2 compiles a method after some 10,000 calls; the real 2 GiB tree has 10,500. */
    static final int RUNS = 16384;
    private static final long BYTES = (long) RUNS * Page.SIZE;

    /**
     * Adds the runs to process {@code pid} of the dump in {@code images}: a mapping in a gap of its address space,
     * {@code parent} made its parent snapshot (holding the whole mapping), and every other page of it in the dump's own
     * pages image.
     */
    static void give(Path images, Path parent, int pid) {
        DirectoryImageStore store = new DirectoryImageStore(images);
        MmEntry mm = store.readEntry(ImageKind.MM, pid, MmEntry.parser());
        long start = gap(mm);
        List<VmaEntry> vmas = new ArrayList<>(mm.getVmasList());
        int at = 0;
        while (at < vmas.size() && vmas.get(at).getStart() < start) {
            at++;
        }
        vmas.add(at, VmaEntry.newBuilder().setStart(start).setEnd(start + BYTES).setPgoff(0).setShmid(0)
                .setProt(Kernel.PROT_READ | Kernel.PROT_WRITE).setFlags(Kernel.MAP_PRIVATE | Kernel.MAP_ANONYMOUS)
                .setStatus(VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_ANON_PRIVATE).setFd(-1).build());
        store.writeEntry(ImageKind.MM, pid, mm.toBuilder().clearVmas().addAllVmas(vmas).build());

        // the parent: one run over the whole mapping
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        DirectoryImageStore up = new DirectoryImageStore(parent);
        try (EntryWriter w = up.openWriter(ImageKind.PAGEMAP, pid)) {
            w.write(PagemapHead.newBuilder().setPagesId(1).build());
            w.write(PagemapEntry.newBuilder().setVaddr(start).setNrPages(RUNS).setFlags(PagemapFlags.PE_PRESENT).build());
            w.commit();
        }
        sparse(parent.resolve(ImageKind.PAGES.fileName(1)), BYTES, null, 0, 0);
        store.linkParent(Path.of("..", parent.getFileName().toString()));

        // the dump's own pagemap: the new runs among its own, in address order; its pages image with a hole for theirs
        PagemapHead head;
        List<PagemapEntry> entries;
        try (EntryReader r = store.openReader(ImageKind.PAGEMAP, pid)) {
            head = r.next(PagemapHead.parser());
            entries = r.readAll(PagemapEntry.parser());
        }
        List<PagemapEntry> out = new ArrayList<>(entries.size() + RUNS);
        long before = 0; // bytes of the pages image that come before the new runs' bytes
        int i = 0;
        for (; i < entries.size() && entries.get(i).getVaddr() < start; i++) {
            out.add(entries.get(i));
            before += ownBytes(entries.get(i));
        }
        for (int k = 0; k < RUNS; k++) {
            out.add(PagemapEntry.newBuilder().setVaddr(start + (long) k * Page.SIZE).setNrPages(1)
                    .setFlags(k % 2 == 0 ? PagemapFlags.PE_PARENT : PagemapFlags.PE_PRESENT).build());
        }
        out.addAll(entries.subList(i, entries.size()));
        try (EntryWriter w = store.openWriter(ImageKind.PAGEMAP, pid)) {
            w.write(head);
            out.forEach(w::write);
            w.commit();
        }
        Path pages = images.resolve(ImageKind.PAGES.fileName(Integer.toUnsignedLong(head.getPagesId())));
        Path grown = images.resolve(pages.getFileName() + ".grown");
        sparse(grown, 0, pages, before, BYTES / 2);
        try {
            Files.move(grown, pages, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The bytes a pagemap entry has in its own snapshot's pages image. */
    private static long ownBytes(PagemapEntry e) {
        int flags = e.hasFlags() ? e.getFlags() : PagemapFlags.PE_PRESENT;
        boolean own = !e.getInParent() && (flags & PagemapFlags.PE_PRESENT) != 0 && (flags & PagemapFlags.PE_PARENT) == 0;
        return own ? Pagemaps.pages(e) * Page.SIZE : 0;
    }

    /**
     * Makes file {@code to} (mode 0600): the bytes of {@code from} with a hole of {@code hole} bytes at {@code at}, or,
     * with no {@code from}, a hole of {@code size} bytes.
     */
    private static void sparse(Path to, long size, Path from, long at, long hole) {
        try {
            Files.deleteIfExists(to);
            Files.createFile(to, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            if (from == null) {
                try (RandomAccessFile f = new RandomAccessFile(to.toFile(), "rw")) {
                    f.setLength(size);
                }
                return;
            }
            try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
                 FileChannel out = FileChannel.open(to, StandardOpenOption.WRITE)) {
                long total = in.size();
                for (long done = 0; done < at; ) {
                    done += in.transferTo(done, at - done, out.position(done));
                }
                for (long done = at; done < total; ) {
                    done += in.transferTo(done, total - done, out.position(done + hole));
                }
                if (out.size() < total + hole) {
                    try (RandomAccessFile f = new RandomAccessFile(to.toFile(), "rw")) {
                        f.setLength(total + hole);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + to + ": " + e.getMessage(), e);
        }
    }

    /** Where the mapping goes: just below the lowest mapping above the widest gap, as mmap would place it, guard pages apart. */
    private static long gap(MmEntry mm) {
        long best = -1;
        long widest = 0;
        List<VmaEntry> vmas = mm.getVmasList();
        for (int i = 1; i < vmas.size(); i++) {
            long width = vmas.get(i).getStart() - vmas.get(i - 1).getEnd();
            if (width > widest) {
                widest = width;
                best = vmas.get(i).getStart() - BYTES - Page.SIZE;
            }
        }
        if (widest < BYTES + 2 * Page.SIZE) {
            throw new IllegalStateException("the decoy has no gap of " + (BYTES >> 20) + " MiB in its address space");
        }
        return best;
    }
}
