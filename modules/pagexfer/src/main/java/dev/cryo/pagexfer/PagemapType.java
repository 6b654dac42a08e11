package dev.cryo.pagexfer;

import dev.cryo.images.ImageKind;

/**
 * Whose pages a pagemap holds: a process's private memory ({@code pagemap-PID.img}, by virtual address) or a
 * shared memory object's contents, shared anonymous memory and memfds alike ({@code pagemap-shmem-SHMID.img},
 * by offset in the object). {@code wireType} is the number the page-server protocol puts in the low 8 bits of
 * an image id.
 */
public enum PagemapType {
    PROCESS(ImageKind.PAGEMAP, 1),
    SHARED(ImageKind.PAGEMAP_SHMEM, 2);

    private final ImageKind image;
    private final int wireType;

    PagemapType(ImageKind image, int wireType) {
        this.image = image;
        this.wireType = wireType;
    }

    public ImageKind image() {
        return image;
    }

    public int wireType() {
        return wireType;
    }

    /** The pagemap image's name for {@code id} (a pid or a shmid). */
    public String fileName(long id) {
        return image.fileName(id);
    }
}
