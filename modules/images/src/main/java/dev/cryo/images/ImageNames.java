package dev.cryo.images;

/**
 * Image names come from images and from the network as well as from cryo, so
 * a name is checked before it touches a file system (or a remote store): it
 * must stay a plain file name inside the images directory. Every store checks
 * the names it is given, and every hop of images over sockets checks the names
 * it receives.
 */
public final class ImageNames {
    /** Leaves room for the temporary name ("." + name + suffix) under NAME_MAX (255). */
    public static final int MAX_LENGTH = 200;

    private ImageNames() {}

    /** Returns {@code name}, or throws an IllegalArgumentException saying what is wrong with it. */
    public static String check(String name) {
        String problem = problem(name);
        if (problem != null) {
            throw new IllegalArgumentException("invalid image name \"" + printable(name) + "\": " + problem);
        }
        return name;
    }

    /** What is wrong with {@code name} as an image name, or null when nothing is. */
    public static String problem(String name) {
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
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_LENGTH) {
            // bytes, as the file system and the wire count them
            return "it is longer than " + MAX_LENGTH + " bytes";
        }
        return null;
    }

    /** The name as a message may show it: a NUL as {@code \0}. */
    public static String printable(String name) {
        return name == null ? "null" : name.replace("\0", "\\0");
    }
}
