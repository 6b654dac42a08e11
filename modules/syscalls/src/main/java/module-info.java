/**
 * The one door to the kernel: typed system calls whose failures are {@link dev.cryo.syscalls.ErrnoException}s,
 * and owners ({@link dev.cryo.syscalls.Fd}, {@link dev.cryo.syscalls.Mapping}) for what they hand out.
 */
module dev.cryo.syscalls {
    requires dev.cryo.bindings; // the only module that reads the bindings: others get the kernel through this one
    exports dev.cryo.syscalls;
}
