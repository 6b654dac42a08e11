/**
 * Restore: read the images, build each task inside a puppet process driven by ptrace, release.
 * The API is {@link dev.cryo.restore.Restorer} with {@link dev.cryo.restore.RestoreOptions}.
 */
module dev.cryo.restore {
    requires transitive dev.cryo.parasite;
    requires dev.cryo.images;
    requires dev.cryo.pagexfer;
    exports dev.cryo.restore;
}
