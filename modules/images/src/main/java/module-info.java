/**
 * cryo's image format: CRIU-compatible .proto messages, the framing of image
 * files, and {@link dev.cryo.images.ImageStore}, the only way images are read
 * or written.
 */
module dev.cryo.images {
    requires transitive com.google.protobuf;
    requires transitive dev.cryo.syscalls; // CryoFailure, which ImageFormatException is
    requires com.google.protobuf.util;
    requires com.google.gson;

    exports dev.cryo.images;
    exports dev.cryo.images.proto;
}
