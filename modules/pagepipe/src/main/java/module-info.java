/**
 * Collects a task's pages: which are present ({@link dev.cryo.pagepipe.PresentPages}), and their contents,
 * in read mode ({@link dev.cryo.pagepipe.ReadCollector}) into pooled, page-aligned buffers, or in splice mode
 * ({@link dev.cryo.pagepipe.SpliceCollector}) through pipes the task fills by calls its parasite makes.
 */
module dev.cryo.pagepipe {
    requires transitive dev.cryo.syscalls;
    requires transitive dev.cryo.parasite;
    exports dev.cryo.pagepipe;
}
