/**
 * Moves pages to where they are kept: local pages images now ({@link dev.cryo.pagexfer.ImagePageSink});
 * a page server and parent snapshots later, behind the same {@link dev.cryo.pagexfer.PageSink}.
 */
module dev.cryo.pagexfer {
    requires transitive dev.cryo.syscalls;
    requires transitive dev.cryo.images;
    exports dev.cryo.pagexfer;
}
