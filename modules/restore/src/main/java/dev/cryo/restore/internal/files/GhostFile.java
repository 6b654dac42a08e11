package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.EntryReader;
import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.images.proto.GhostFileEntry;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * An unlinked file that a task held open at dump: re-created from ghost-file-ID.img beside its old
 * path under a name of its own, opened by the task, and unlinked again when closed, so the task holds
 * an open, deleted file with the dumped contents, as before.
 */
final class GhostFile implements AutoCloseable {
    private static final String DELETED = " (deleted)";
    private final String path;

    private GhostFile(String path) {
        this.path = path;
    }

    static GhostFile create(ImageStore store, int id, String dumpedPath) {
        String base = dumpedPath.endsWith(DELETED) ? dumpedPath.substring(0, dumpedPath.length() - DELETED.length()) : dumpedPath;
        // Its own name when that is free, so /proc shows the same "(deleted)" path; never over another file.
        String path = Files.exists(Path.of(base), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                ? base + ".cryo-ghost-" + id + "-" + ProcessHandle.current().pid() : base;
        try {
            write(store, id, path);
        } catch (RestoreError e) {
            throw new RestoreError("cannot re-create unlinked file " + base + " at " + path + ": " + e.getMessage(), e);
        }
        return new GhostFile(path);
    }

    /**
     * Creates {@code path} (never over another file) with the contents, owner and mode that ghost-file-ID.img
     * holds for file {@code id}.
     */
    static void write(ImageStore store, int id, String path) {
        try (EntryReader r = store.openReader(ImageKind.GHOST_FILE, id);
             Fd out = Io.openAt(Kernel.AT_FDCWD, path, Kernel.O_WRONLY | 0100 | 0200, 0600); // O_CREAT | O_EXCL
             Arena arena = Arena.ofConfined()) {
            GhostFileEntry g = r.next(GhostFileEntry.parser());
            if (g == null) {
                throw new RestoreError(ImageKind.GHOST_FILE.fileName(id) + " holds no ghost_file_entry");
            }
            long left = r.payloadRemaining();
            MemorySegment buf = arena.allocate(Math.min(Math.max(left, 1), 1 << 20));
            while (left > 0) {
                MemorySegment chunk = buf.asSlice(0, Math.min(left, buf.byteSize()));
                r.readPayload(chunk);
                Io.writeFully(out.fd(), chunk);
                left -= chunk.byteSize();
            }
            // owner first: chown clears set-id bits, which the mode then puts back
            Io.fchown(out, g.getUid(), g.getGid());
            Io.fchmod(out, g.getMode() & 07777);
        } catch (dev.cryo.syscalls.ErrnoException e) {
            throw new RestoreError("cannot create " + path + ": " + e.getMessage(), e);
        }
    }

    String path() {
        return path;
    }

    /** Unlinks the name: the task's open file is all that is left of it. */
    @Override
    public void close() {
        try {
            Files.deleteIfExists(Path.of(path));
        } catch (java.io.IOException e) {
            throw new RestoreError("cannot unlink re-created ghost file " + path + ": " + e.getMessage(), e);
        }
    }
}
