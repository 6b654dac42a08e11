package dev.cryo.dump.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;

/**
 * One fd of a frozen process as /proc shows it: its link target, and fdinfo's {@code pos}, {@code flags}
 * (octal, O_CLOEXEC split off) and type-specific lines. {@code pidfd} lets a dumper take a duplicate.
 */
record OpenFd(int pid, int fd, Fd pidfd, String link, long pos, int flags, boolean cloexec, String fdinfo) {

    static OpenFd read(int pid, int fd, Fd pidfd, String link) throws IOException {
        String text = Files.readString(Path.of("/proc/" + pid + "/fdinfo/" + fd));
        long pos = 0;
        int flags = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith("pos:")) {
                pos = Long.parseLong(line.substring(4).trim());
            } else if (line.startsWith("flags:")) {
                flags = Integer.parseInt(line.substring(6).trim(), 8);
            }
        }
        return new OpenFd(pid, fd, pidfd, link, pos, flags & ~Kernel.O_CLOEXEC, (flags & Kernel.O_CLOEXEC) != 0, text);
    }

    /** The value of fdinfo line {@code name:}, or null. */
    String field(String name) {
        for (String line : fdinfo.split("\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).trim();
            }
        }
        return null;
    }

    /** The locks that fdinfo's {@code lock:} lines show for this fd. */
    List<FileLocks.Held> locks() {
        List<FileLocks.Held> out = new ArrayList<>();
        for (String line : fdinfo.split("\n")) {
            if (line.startsWith("lock:")) {
                out.add(FileLocks.Held.parse(line.substring(5)));
            }
        }
        return out;
    }

    /** The file through /proc, which opens even an unlinked file or another's FIFO. */
    Path procPath() {
        return Path.of("/proc/" + pid + "/fd/" + fd);
    }

    /** Inode number of a {@code pipe:[N]} or {@code socket:[N]} link. */
    long linkInode() {
        return Long.parseLong(link.substring(link.indexOf('[') + 1, link.length() - 1));
    }

    String where() {
        return "pid " + pid + " fd " + fd;
    }
}
