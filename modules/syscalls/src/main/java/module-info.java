/**
 * The one door to the kernel: typed system calls whose failures are {@link dev.cryo.syscalls.ErrnoException}s,
 * and owners ({@link dev.cryo.syscalls.Fd}, {@link dev.cryo.syscalls.Mapping}) for what they hand out.
 */
module dev.cryo.syscalls {
    requires transitive dev.cryo.bindings;
    exports dev.cryo.syscalls;
}
