package dev.cryo.pagexfer;

import java.lang.foreign.MemorySegment;
import java.util.List;

import dev.cryo.images.EntryWriter;
import dev.cryo.images.ImageStore;
import dev.cryo.images.RawWriter;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;
import dev.cryo.syscalls.Page;

/**
 * Pages into local images: a pagemap ({@code pagemap-PID.img} or {@code pagemap-shmem-SHMID.img}, the runs)
 * and {@code pages-N.img} (their bytes). Both appear only at {@link #commit}.
 */
public final class ImagePageSink implements PageSink {

    private final EntryWriter pagemap;
    private final RawWriter pages;
    private long expected;
    private boolean published;

    public ImagePageSink(ImageStore store, int pid, int pagesId) {
        this(store, PagemapType.PROCESS, pid, pagesId);
    }

    public ImagePageSink(ImageStore store, PagemapType type, long id, int pagesId) {
        EntryWriter map = store.openWriter(type.image(), id);
        try {
            this.pages = store.openRawWriter(dev.cryo.images.ImageKind.PAGES.fileName(Integer.toUnsignedLong(pagesId)));
        } catch (RuntimeException e) {
            map.close();
            throw e;
        }
        this.pagemap = map;
        pagemap.write(PagemapHead.newBuilder().setPagesId(pagesId).build());
    }

    /** The pagemap image's name, e.g. {@code pagemap-42.img}. */
    public String name() {
        return pagemap.name();
    }

    @Override
    public void begin(List<Run> runs) {
        if (published) {
            throw new IllegalStateException(pagemap.name() + " is published already: no more runs");
        }
        for (Run r : runs) {
            pagemap.write(PagemapEntry.newBuilder().setVaddr(r.vaddr()).setNrPages((int) r.pages()).setFlags(r.flags()).build());
            if (r.carriesBytes()) {
                expected += r.pages() * Page.SIZE;
            }
        }
    }

    /** Commits the pagemap now and announces the pages image's size: a reader of the pagemap may start on it. */
    @Override
    public void publish() {
        if (!published) {
            published = true;
            pagemap.commit();
            pages.announce(expected);
        }
    }

    @Override
    public void write(MemorySegment data) {
        if (pages.position() + data.byteSize() > expected) {
            throw new IllegalStateException(pages.name() + ": " + (pages.position() + data.byteSize())
                    + " bytes written, more than the " + expected + " the pagemap promises so far");
        }
        pages.write(data);
    }

    @Override
    public boolean takesPipes() {
        return pages.takesPipes();
    }

    @Override
    public void writeFromPipe(dev.cryo.syscalls.Fd pipe, long bytes) {
        if (pages.position() + bytes > expected) {
            throw new IllegalStateException(pages.name() + ": " + (pages.position() + bytes)
                    + " bytes written, more than the " + expected + " the pagemap promises so far");
        }
        pages.writeFromPipe(pipe, bytes);
    }

    @Override
    public void commit() {
        if (pages.position() != expected) {
            throw new IllegalStateException(pages.name() + ": " + pages.position() + " bytes written, the pagemap promises " + expected);
        }
        if (!published) {
            pagemap.commit();
        }
        pages.commit();
    }

    @Override
    public void close() {
        try (pagemap) {
            pages.close();
        }
    }
}
