/**
 * Moving a tree between hosts. For now the two daemons of images over sockets (seed 002): the
 * {@link dev.cryo.migrate.ImageProxy} on the source, which a dump with {@code --remote} writes its images
 * through, and the {@link dev.cryo.migrate.ImageCache} on the destination, which holds them (pages
 * deduplicated along a chain) for a restore with {@code --remote}. They speak the frames of
 * {@code dev.cryo.images.remote} on every hop; the TCP link between them is pagexfer's (corked, TLS).
 */
module dev.cryo.migrate {
    requires transitive dev.cryo.images;
    requires transitive dev.cryo.pagexfer;
    requires dev.cryo.syscalls;
    exports dev.cryo.migrate;
}
