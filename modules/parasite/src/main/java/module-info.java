/**
 * Seize and freeze tasks, run system calls inside them through a trampoline, cure and release:
 * {@link dev.cryo.parasite.FrozenTree}, {@link dev.cryo.parasite.Parasite}, {@link dev.cryo.parasite.Tracer}.
 */
module dev.cryo.parasite {
    requires transitive dev.cryo.syscalls;
    exports dev.cryo.parasite;
}
