package dev.cryo.images.remote;

import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Snapshot ids, the seed's "namespaces": with {@code --remote} a step's {@code -D DIR} names its snapshot
 * (nothing is made at that path), and {@code --prev-images-dir ../pre1} is resolved among those names as it
 * is among directories. An id is the path as given, normalized ({@code /x/final/../pre2} is {@code /x/pre2});
 * the dump and the restore give the same {@code -D}. Ids come from the network too: each is checked.
 */
public final class Snapshots {
    /** PATH_MAX: an id is a path as a user writes it. */
    public static final int MAX_LENGTH = 4096;

    private Snapshots() {}

    /** The snapshot that {@code -D imagesDir} names. */
    public static String of(Path imagesDir) {
        return check(imagesDir.normalize().toString());
    }

    /** The snapshot that {@code --prev-images-dir prev} names for a step of {@code -D imagesDir}. */
    public static String previous(Path imagesDir, Path prev) {
        String id = imagesDir.resolve(prev).normalize().toString();
        String problem = problem(id);
        if (problem != null) {
            throw new IllegalArgumentException("--prev-images-dir " + prev + " of " + imagesDir + " names snapshot \""
                    + id + "\": " + problem);
        }
        return id;
    }

    /** Returns {@code id}, or throws an IllegalArgumentException saying what is wrong with it. */
    public static String check(String id) {
        String problem = problem(id);
        if (problem != null) {
            throw new IllegalArgumentException("invalid snapshot \"" + printable(id) + "\": " + problem);
        }
        return id;
    }

    /** What is wrong with {@code id} as a snapshot id, or null when nothing is. */
    public static String problem(String id) {
        if (id == null || id.isEmpty()) {
            return "it is empty";
        }
        if (id.indexOf('\0') >= 0) {
            return "it contains a NUL byte";
        }
        if (id.getBytes(StandardCharsets.UTF_8).length > MAX_LENGTH) {
            return "it is longer than " + MAX_LENGTH + " bytes";
        }
        Path p;
        try {
            p = Path.of(id);
        } catch (InvalidPathException e) {
            return "it is no path (" + e.getReason() + ")";
        }
        for (Path element : p) {
            if (element.toString().equals("..")) {
                return "it climbs out with \"..\"";
            }
        }
        if (!p.normalize().toString().equals(id)) {
            return "it is not written plainly (as " + p.normalize() + ")";
        }
        return null;
    }

    public static String printable(String id) {
        return id == null ? "null" : id.replace("\0", "\\0");
    }
}
