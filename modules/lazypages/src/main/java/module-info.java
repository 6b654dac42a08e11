/**
 * Lazy restore's other half: a daemon that answers the page faults of a lazily restored tree from a page
 * source, the dump's images or the dump itself across the network (post-copy), and nothing else. The restore
 * hands it each process's userfaultfd through a {@link dev.cryo.lazypages.Handoff}; {@link dev.cryo.lazypages.LazyPages}
 * serves them.
 */
module dev.cryo.lazypages {
    requires transitive dev.cryo.pagexfer;
    requires transitive dev.cryo.syscalls;
    exports dev.cryo.lazypages;
}
