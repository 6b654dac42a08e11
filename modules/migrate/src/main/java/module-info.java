/**
 * Moving a tree between hosts. The two daemons of images over sockets (seed 002): the
 * {@link dev.cryo.migrate.ImageProxy} on the source, which a dump with {@code --remote} writes its images
 * through, and the {@link dev.cryo.migrate.ImageCache} on the destination, which holds them (pages
 * deduplicated along a chain) for a restore with {@code --remote}. They speak the frames of
 * {@code dev.cryo.images.remote} on every hop; the TCP link between them is pagexfer's (corked, TLS).
 * Live migration puts them together: {@link dev.cryo.migrate.Migration} on the source (pre-copy rounds, the final
 * dump, the tree killed once its copy runs) and {@link dev.cryo.migrate.MigrationServer} on the destination
 * (the cache and the restore), talking over a control connection of their own (protobuf, {@code migrate.proto}).
 */
module dev.cryo.migrate {
    requires transitive dev.cryo.images;
    requires transitive dev.cryo.pagexfer;
    requires transitive dev.cryo.dump;
    requires transitive dev.cryo.restore;
    requires dev.cryo.lazypages;
    requires dev.cryo.syscalls;
    requires com.google.protobuf;
    exports dev.cryo.migrate;
}
