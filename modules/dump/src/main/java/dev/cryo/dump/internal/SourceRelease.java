package dev.cryo.dump.internal;

import java.util.Map;

import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.pagexfer.LazyMemory;
import dev.cryo.parasite.FrozenTree;
import dev.cryo.parasite.Parasite;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;

/**
 * Once a lazy dump is committed (its daemon has connected: the restored copy may run, the original never
 * will), each process of the frozen original keeps only what the daemon may still ask for, its lazy memory:
 * every fd is closed (file locks released, terminals, FIFOs and sockets let go; a session leader gives up its
 * controlling terminal first) and every other mapping
 * unmapped. A restore on the same machine then finds those free, as it would on another host; only the pids
 * stay held, until the daemon is done and the tree is killed.
 */
final class SourceRelease {
    /** close_range's last fd: all of them (~0U). */
    private static final long ALL_FDS = 0xffff_ffffL;
    /** asm-generic/ioctls.h; not among the bindings' constants. */

    private SourceRelease() {}

    static void keepOnlyLazyMemory(FrozenTree tree, Map<Integer, MmEntry> mms) {
        for (int pid : tree.processes().keySet()) {
            MmEntry mm = mms.get(pid);
            try (Parasite p = Parasite.infect(tree.leader(pid))) {
                Proc.Stat stat = Proc.stat(pid);
                if (stat.longField(6) == pid && stat.longField(7) != 0) {
                    // A session leader gives up its controlling terminal (closing fds does not): the restored
                    // session takes it again. The hang-up goes to the terminal's foreground group, frozen here.
                    try (Scratch s = p.scratch()) {
                        long fd = p.syscall("open(/dev/tty)", Kernel.__NR_openat, Kernel.AT_FDCWD, s.putString("/dev/tty"),
                                Kernel.O_RDWR | Kernel.O_NOCTTY | Kernel.O_CLOEXEC, 0);
                        p.syscall("ioctl(TIOCNOTTY)", Kernel.__NR_ioctl, fd, Kernel.TIOCNOTTY, 0);
                        p.syscall("close", Kernel.__NR_close, fd);
                    }
                }
                p.syscall("close_range", Kernel.__NR_close_range, 0, ALL_FDS, 0);
                for (VmaEntry v : mm.getVmasList()) {
                    int kernels = VmaStatus.VMA_AREA_VDSO | VmaStatus.VMA_AREA_VVAR | VmaStatus.VMA_AREA_VSYSCALL;
                    if ((v.getStatus() & kernels) == 0 && !LazyMemory.isLazy(v)) {
                        p.syscall("munmap(0x" + Long.toHexString(v.getStart()) + ")", Kernel.__NR_munmap,
                                v.getStart(), v.getEnd() - v.getStart());
                    }
                }
            }
        }
    }
}
