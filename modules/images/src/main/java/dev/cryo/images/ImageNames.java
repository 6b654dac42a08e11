package dev.cryo.images;

/**
 * Image names come from images and from the network as well as from cryo, so
 * a name is checked before it touches a file system: it must stay a plain
 * file name inside the images directory.
 */
final class ImageNames {
    /** Leaves room for the temporary name ("." + name + suffix) under NAME_MAX (255). */
    static final int MAX_LENGTH = 200;

    private ImageNames() {}

    static String check(String name) {
        String problem = problem(name);
        if (problem != null) {
            throw new IllegalArgumentException("invalid image name \"" + printable(name) + "\": " + problem);
        }
        return name;
    }

    private static String problem(String name) {
        if (name == null || name.isEmpty()) {
            return "it is empty";
        }
        if (name.indexOf('/') >= 0) {
            return "it contains '/'";
        }
        if (name.indexOf('\0') >= 0) {
            return "it contains a NUL byte";
        }
        if (name.contains("..")) {
            return "it contains \"..\"";
        }
        if (name.startsWith(".")) {
            // Also keeps image names apart from the stores' temporary files.
            return "it starts with '.'";
        }
        if (name.length() > MAX_LENGTH) {
            return "it is longer than " + MAX_LENGTH + " characters";
        }
        return null;
    }

    private static String printable(String name) {
        return name == null ? "null" : name.replace("\0", "\\0");
    }
}
