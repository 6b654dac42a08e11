package dev.cryo.images;

/**
 * An image is corrupt, truncated or not what its name says. The message is one
 * line for the user and names the image file and the byte offset of the fault:
 * {@code core-42.img: truncated at offset 1052 (entry of 312 bytes, 40 present)}.
 */
public final class ImageFormatException extends dev.cryo.syscalls.CryoFailure {
    private static final long serialVersionUID = 1L;

    private final String image;
    private final long offset;

    public ImageFormatException(String image, long offset, String detail) {
        super(image + ": " + detail);
        this.image = image;
        this.offset = offset;
    }

    public ImageFormatException(String image, long offset, String detail, Throwable cause) {
        this(image, offset, detail);
        initCause(cause);
    }

    /** The image file's name, e.g. {@code core-42.img}. */
    public String image() {
        return image;
    }

    /** Byte offset in the image where the fault was found. */
    public long offset() {
        return offset;
    }
}
