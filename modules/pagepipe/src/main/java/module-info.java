/**
 * Collects a task's pages: which are present ({@link dev.cryo.pagepipe.PresentPages}), and their contents,
 * in read mode ({@link dev.cryo.pagepipe.ReadCollector}) into pooled, page-aligned buffers.
 */
module dev.cryo.pagepipe {
    requires transitive dev.cryo.syscalls;
    exports dev.cryo.pagepipe;
}
