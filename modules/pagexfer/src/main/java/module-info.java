/**
 * Moves pages: every page a dump writes goes through a {@link dev.cryo.pagexfer.PageSink} of a
 * {@link dev.cryo.pagexfer.PageDestination} (local images, or a page server over TCP in CRIU's protocol),
 * and every page a restore reads comes from a {@link dev.cryo.pagexfer.PageSource}, through the parent
 * snapshots of a chain. {@link dev.cryo.pagexfer.PageServer} is the receiving end.
 */
module dev.cryo.pagexfer {
    requires transitive dev.cryo.syscalls;
    requires transitive dev.cryo.images;
    exports dev.cryo.pagexfer;
}
