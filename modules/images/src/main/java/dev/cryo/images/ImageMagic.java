package dev.cryo.images;

/**
 * The numbers at the head of an image file. Since CRIU's image version 1.1
 * every image but the inventory starts with a head magic (common, or service
 * for statistics), then the magic of its kind.
 */
public final class ImageMagic {
    /** Head of every image that describes the dumped tree. */
    public static final int IMG_COMMON = 0x54564319;
    /** Head of images about the tool's own run (stats). */
    public static final int IMG_SERVICE = 0x55105940;
    /** {@code inventory_entry.img_version} of the images cryo writes (CRIU's CRTOOLS_IMAGES_V1_1). */
    public static final int IMAGES_V1_1 = 2;

    private ImageMagic() {}

    static String hex(int magic) {
        return String.format("0x%08x", magic);
    }
}
