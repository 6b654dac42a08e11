package dev.cryo.pagexfer;

import java.lang.foreign.MemorySegment;
import java.util.List;

import dev.cryo.images.EntryWriter;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.PagemapFlags;
import dev.cryo.images.RawWriter;
import dev.cryo.images.proto.PagemapEntry;
import dev.cryo.images.proto.PagemapHead;

/** Pages into local images: {@code pagemap-PID.img} (the runs) and {@code pages-ID.img} (their bytes). */
public final class ImagePageSink implements PageSink {
    private static final long PAGE = 4096;

    private final EntryWriter pagemap;
    private final RawWriter pages;
    private long expected;

    public ImagePageSink(ImageStore store, int pid, int pagesId) {
        EntryWriter map = store.openWriter(ImageKind.PAGEMAP, pid);
        try {
            this.pages = store.openRawWriter(ImageKind.PAGES.fileName(pagesId));
        } catch (RuntimeException e) {
            map.close();
            throw e;
        }
        this.pagemap = map;
        pagemap.write(PagemapHead.newBuilder().setPagesId(pagesId).build());
    }

    @Override
    public void begin(List<Run> runs) {
        for (Run r : runs) {
            pagemap.write(PagemapEntry.newBuilder().setVaddr(r.vaddr()).setNrPages((int) r.pages())
                    .setFlags(r.inParent() ? PagemapFlags.PE_PARENT : PagemapFlags.PE_PRESENT).build());
            if (!r.inParent()) {
                expected += r.pages() * PAGE;
            }
        }
    }

    @Override
    public void write(MemorySegment data) {
        pages.write(data);
    }

    @Override
    public void commit() {
        if (pages.position() != expected) {
            throw new IllegalStateException(pages.name() + ": " + pages.position() + " bytes written, the pagemap promises " + expected);
        }
        pagemap.commit();
        pages.commit();
    }

    @Override
    public void close() {
        try (pagemap) {
            pages.close();
        }
    }
}
