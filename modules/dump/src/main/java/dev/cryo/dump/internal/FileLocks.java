package dev.cryo.dump.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FileLockEntry;
import dev.cryo.syscalls.Kernel;

/**
 * The file locks a tree holds, from the {@code lock:} lines of each fd's fdinfo (the kernel shows there the
 * locks taken through that open file: flock and OFD locks of the description, POSIX locks of the process),
 * for filelocks.img. CRIU's option: without {@code --file-locks} a held lock refuses the dump, since a
 * restore without it would run with the lock silently gone.
 */
final class FileLocks {
    /** CRIU's lock kinds (criu/include/file-lock.h). */
    static final int FL_POSIX = 1;
    static final int FL_FLOCK = 2;
    static final int FL_OFD = 4;

    /** One {@code lock:} line: kind as /proc spells it, write or read, owner pid, range (end -1: to EOF). */
    record Held(String kind, boolean write, int pid, long start, long end) {
        /**
         * Parses {@code "1: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF"} (after "lock:"). Leases
         * ({@code LEASE  ACTIVE  READ ...}) keep their kind and are refused by the caller.
         */
        static Held parse(String line) {
            String[] f = line.trim().split("\\s+");
            // f[0] "1:", f[1] kind, f[2] ADVISORY/MANDATORY (a lease: ACTIVE/BREAKING/BREAKER), f[3] type, f[4] pid,
            // f[5] dev:ino, f[6] start, f[7] end
            String end = f.length > 7 ? f[7] : "EOF";
            return new Held(f[1], f[3].equals("WRITE"), Integer.parseInt(f[4]), Long.parseLong(f[6]),
                    end.equals("EOF") ? -1 : Long.parseLong(end));
        }

        String describe() {
            String what = switch (kind) {
                case "FLOCK" -> "an flock";
                case "POSIX" -> "a POSIX (fcntl) lock";
                case "OFDLCK" -> "an OFD lock";
                default -> "a " + kind.toLowerCase() + " lock";
            };
            return what + " (" + (write ? "write" : "read")
                    + (kind.equals("FLOCK") ? "" : ", bytes " + start + "-" + (end < 0 ? "EOF" : Long.toString(end))) + ")";
        }
    }

    private final boolean dump;
    /** Dumped locks, once each: flock and OFD locks belong to a file description, POSIX locks to a process. */
    private final Map<String, FileLockEntry> entries = new LinkedHashMap<>();

    FileLocks(boolean dump) {
        this.dump = dump;
    }

    /** The locks that fd {@code fd} (file id {@code fileId}) shows; refuses them without --file-locks. */
    void add(OpenFd fd, int fileId) throws DumpException {
        for (Held h : fd.locks()) {
            int flag = switch (h.kind()) {
                case "FLOCK" -> FL_FLOCK;
                case "POSIX" -> FL_POSIX;
                case "OFDLCK" -> FL_OFD;
                default -> throw new DumpException("cannot dump " + fd.where() + " (" + fd.link() + "): it holds "
                        + h.describe() + ", which cryo cannot dump");
            };
            if (!dump) {
                throw new DumpException("cannot dump " + fd.where() + " (" + fd.link() + "): it holds " + h.describe()
                        + "; dump with --file-locks to keep it (a restore without it would lose the lock)");
            }
            long len = h.end() < 0 ? 0 : h.end() - h.start() + 1;
            String key = flag + ":" + (flag == FL_POSIX ? "pid " + fd.pid() + " " : "") + fileId + ":" + h.start() + ":" + len;
            entries.putIfAbsent(key, FileLockEntry.newBuilder().setFlag(flag)
                    .setType(h.write() ? Kernel.F_WRLCK : Kernel.F_RDLCK)
                    .setPid(fd.pid()).setFd(fd.fd()).setStart(h.start()).setLen(len).build());
        }
    }

    List<FileLockEntry> entries() {
        return new ArrayList<>(entries.values());
    }
}
