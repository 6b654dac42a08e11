package dev.cryo.migrate.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageFormatException;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.PagemapFlags;
import dev.cryo.images.Pagemaps;
import dev.cryo.images.RawReader;
import dev.cryo.images.RawWriter;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.syscalls.Page;

/**
 * The cache's deduplication of pages along a chain (CRIU's auto-dedup): when a snapshot is complete, every
 * page it holds itself ({@code PE_PRESENT}) makes the same page of the same pagemap in the snapshots below it
 * useless, since a restore resolves each page from the top of the chain down and stops at the first
 * snapshot that holds it. Those bytes are released from the lower pages images, so that after a chain of
 * pre-dumps and a dump the cache holds each page once, the newest, and its memory stays near the tree's
 * memory size however many steps ran. A released range is never read as zeros: a read of it is refused.
 */
final class Dedup {

    private Dedup() {}

    /** A run of a pagemap: [vaddr, end), and where its bytes start in the pages image (-1: in a parent). */
    private record Run(long vaddr, long end, long offset) {}

    /** A pagemap as read: its pages image's name and its runs, in order. */
    private record Pagemap(String pagesImage, List<Run> runs) {}

    /** Releases from the snapshots below {@code top} what {@code top} holds itself; returns the bytes asked released. */
    static long apply(Holdings.Snapshot top, Function<String, Holdings.Snapshot> snapshots) {
        long released = 0;
        for (Holdings.Image image : top.images.values()) {
            ImageKind kind = ImageKind.ofFileName(image.name).orElse(null);
            if (kind != ImageKind.PAGEMAP && kind != ImageKind.PAGEMAP_SHMEM) {
                continue;
            }
            Pagemap mine = read(top, image.name);
            if (mine == null) {
                continue; // a pagemap that does not parse saves nothing here; the restore will say what is wrong with it
            }
            List<Run> present = mine.runs().stream().filter(r -> r.offset() >= 0).toList();
            for (Holdings.Snapshot below = snapshots.apply(top.parent); below != null; below = snapshots.apply(below.parent)) {
                Pagemap theirs = below.images.containsKey(image.name) ? read(below, image.name) : null;
                Holdings.Image pages = theirs == null ? null : below.images.get(theirs.pagesImage());
                if (pages == null || pages.bytes == null) {
                    continue;
                }
                released += release(present, theirs, pages.bytes);
            }
        }
        return released;
    }

    /** Releases the bytes of {@code theirs}' own runs that {@code present} covers. */
    private static long release(List<Run> present, Pagemap theirs, ImageBytes pages) {
        long released = 0;
        int i = 0;
        for (Run r : theirs.runs()) {
            if (r.offset() < 0) {
                continue;
            }
            while (i < present.size() && present.get(i).end() <= r.vaddr()) {
                i++;
            }
            for (int j = i; j < present.size() && present.get(j).vaddr() < r.end(); j++) {
                long from = Math.max(r.vaddr(), present.get(j).vaddr());
                long to = Math.min(r.end(), present.get(j).end());
                if (from < to) {
                    pages.release(r.offset() + (from - r.vaddr()), r.offset() + (to - r.vaddr()));
                    released += to - from;
                }
            }
        }
        return released;
    }

    private static Pagemap read(Holdings.Snapshot s, String name) {
        try (EntryReader r = new View(s).openReader(name)) {
            PagemapHead head = r.next(PagemapHead.parser());
            if (head == null) {
                return null;
            }
            List<Run> runs = new ArrayList<>();
            long offset = 0;
            long previousEnd = Long.MIN_VALUE;
            for (PagemapEntry e : r.readAll(PagemapEntry.parser())) {
                int flags = e.hasFlags() ? e.getFlags() : PagemapFlags.PE_PRESENT;
                boolean inParent = e.getInParent() || (flags & PagemapFlags.PE_PARENT) != 0;
                long n = Pagemaps.pages(e);
                long end = e.getVaddr() + n * Page.SIZE;
                if (n <= 0 || n > (1L << 36) || e.getVaddr() < previousEnd || end < e.getVaddr()) {
                    return null; // out of order or absurd: not a pagemap to release anything by
                }
                previousEnd = end;
                boolean bytes = !inParent && (flags & PagemapFlags.PE_PRESENT) != 0;
                runs.add(new Run(e.getVaddr(), end, bytes ? offset : -1));
                if (bytes) {
                    offset += n * Page.SIZE;
                }
            }
            return new Pagemap(ImageKind.PAGES.fileName(Integer.toUnsignedLong(head.getPagesId())), runs);
        } catch (ImageFormatException | IllegalArgumentException e) {
            return null;
        }
    }

    /** A snapshot's complete images, read-only, for an {@link EntryReader}. */
    private record View(Holdings.Snapshot s) implements ImageStore {
        @Override
        public RawReader openRawReader(String name) {
            Holdings.Image image = s.images.get(name);
            if (image == null || image.bytes == null) {
                throw new IllegalArgumentException(name + " is not in snapshot " + s.id);
            }
            return new RawReader() {
                @Override
                public String name() {
                    return name;
                }

                @Override
                public long size() {
                    return image.size;
                }

                @Override
                public int read(ByteBuffer dst, long position) {
                    if (position >= image.size) {
                        return -1;
                    }
                    int n = (int) Math.min(dst.remaining(), image.size - position);
                    if (!image.bytes.copyTo(position, MemorySegment.ofBuffer(dst).asSlice(0, n))) {
                        throw new IllegalArgumentException(name + " of " + s.id + " was released");
                    }
                    dst.position(dst.position() + n);
                    return n;
                }

                @Override
                public void close() {}
            };
        }

        @Override
        public RawWriter openRawWriter(String name) {
            throw new UnsupportedOperationException("read-only");
        }

        @Override
        public Optional<Path> pathOf(String name) {
            return Optional.empty();
        }

        @Override
        public boolean exists(String name) {
            return s.images.containsKey(name);
        }

        @Override
        public List<String> list() {
            return List.copyOf(s.images.keySet());
        }

        @Override
        public void delete(String name) {
            throw new UnsupportedOperationException("read-only");
        }

        @Override
        public void abortAll() {
            throw new UnsupportedOperationException("read-only");
        }
    }
}
