package dev.cryo.restore.internal.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.cryo.images.ImageKind;
import dev.cryo.images.ImageStore;
import dev.cryo.restore.internal.RestoreError;

/**
 * Files a dumped process mapped whose contents the dump kept (a JVM's hsperfdata file, which any JVM started
 * meanwhile deletes: the dump's KeptFiles): a ghost-file image of a file id that only mappings name. One that is
 * missing at restore is re-created where it was, with the dumped contents, owner and mode, before any process
 * is; one still there is used as it is. Closed before {@link #keep()} (a failed restore), the files it made go.
 */
public final class KeptFiles implements AutoCloseable {
    private final List<Path> made = new ArrayList<>();
    private boolean kept;

    private KeptFiles() {}

    /** Re-creates the missing files of {@code mapped} (file ids that mappings name) from {@code paths}. */
    public static KeptFiles recreateMissing(ImageStore store, Map<Integer, String> paths, Set<Integer> mapped) {
        KeptFiles k = new KeptFiles();
        try {
            for (int id : mapped) {
                String path = paths.get(id);
                if (path == null || !store.exists(ImageKind.GHOST_FILE.fileName(id))
                        || Files.exists(Path.of(path), LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                if (!Files.isDirectory(Path.of(path).getParent())) {
                    throw new RestoreError("cannot re-create " + path + " (kept in " + ImageKind.GHOST_FILE.fileName(id)
                            + "): its directory is gone");
                }
                GhostFile.write(store, id, path);
                k.made.add(Path.of(path));
            }
            return k;
        } catch (RuntimeException e) {
            k.close();
            throw e;
        }
    }

    /** The restore went well: the files stay, as the restored processes' own. */
    public void keep() {
        kept = true;
    }

    @Override
    public void close() {
        if (kept) {
            return;
        }
        for (Path p : made) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                // best effort: the restore's own failure is what the user needs to see
            }
        }
    }
}
