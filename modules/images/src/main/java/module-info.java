/**
 * cryo's image format: CRIU-compatible .proto messages, the framing of image
 * files, and {@link dev.cryo.images.ImageStore}, the only way images are read
 * or written: a directory, memory (tests), or a snapshot behind the image proxy
 * or cache ({@link dev.cryo.images.RemoteImageStore}, whose protocol is in
 * {@code dev.cryo.images.remote}).
 */
module dev.cryo.images {
    requires transitive com.google.protobuf;
    requires transitive dev.cryo.syscalls; // CryoFailure, which ImageFormatException is
    requires com.google.protobuf.util;
    requires com.google.gson;

    exports dev.cryo.images;
    exports dev.cryo.images.proto;
    // images over sockets (seed 002): the frames every hop speaks, for the image proxy and cache
    exports dev.cryo.images.remote;
    exports dev.cryo.images.remote.proto;
}
