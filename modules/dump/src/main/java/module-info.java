/**
 * Dump and pre-dump orchestration: find the tree, freeze it, collect every task's state and pages,
 * write the images, release. The API is {@link dev.cryo.dump.Dumper} with {@link dev.cryo.dump.DumpOptions}.
 */
module dev.cryo.dump {
    requires transitive dev.cryo.parasite;
    requires dev.cryo.pagepipe;
    requires transitive dev.cryo.pagexfer;
    requires dev.cryo.images;
    exports dev.cryo.dump;
}
