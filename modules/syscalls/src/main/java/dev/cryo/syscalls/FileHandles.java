package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.cryo_file_handle;

/**
 * Files found by their kernel file handle (open_by_handle_at(2), which needs CAP_DAC_READ_SEARCH): how an inode
 * that the kernel names only by device and handle (an inotify watch) is found by path again.
 */
public final class FileHandles {
    private FileHandles() {}

    /**
     * The path, as cryo sees it, of the inode with handle {@code handle} (its first {@code bytes} bytes) of
     * type {@code type} on the filesystem of device {@code major:minor}; empty when no mount of that device is
     * visible, the inode is gone or unlinked, or has no name reachable from the mount.
     */
    public static Optional<String> path(int major, int minor, int type, byte[] handle) {
        Optional<String> mount = Mounts.pointOf(major, minor);
        if (mount.isEmpty() || handle.length > Linux.MAX_HANDLE_SZ()) {
            return Optional.empty();
        }
        // not O_PATH: open_by_handle_at takes its mount from a real open file (EBADF otherwise)
        try (Fd dir = Io.open(mount.get(), Linux.O_RDONLY() | Linux.O_DIRECTORY()); Arena a = Arena.ofConfined()) {
            MemorySegment fh = cryo_file_handle.allocate(a);
            cryo_file_handle.handle_bytes(fh, handle.length);
            cryo_file_handle.handle_type(fh, type);
            MemorySegment.copy(handle, 0, cryo_file_handle.f_handle(fh), ValueLayout.JAVA_BYTE, 0, handle.length);
            long fd;
            try {
                fd = Syscall.call("open_by_handle_at", Linux.__NR_open_by_handle_at(), dir.fd(), fh.address(),
                        Linux.O_PATH() | Linux.O_CLOEXEC());
            } catch (ErrnoException e) {
                return Optional.empty(); // ESTALE: the inode is gone; or a filesystem that cannot decode handles
            }
            try (Fd file = Fd.own((int) fd)) {
                String path = Io.readlink("/proc/self/fd/" + file.fd());
                return path.startsWith("/") && !path.endsWith(" (deleted)") ? Optional.of(path) : Optional.empty();
            }
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOENT) || e.is(Errno.EACCES)) {
                return Optional.empty();
            }
            throw e;
        }
    }
}
