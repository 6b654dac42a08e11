package dev.cryo.syscalls;

import java.util.Optional;

/** The mounts cryo sees (/proc/self/mountinfo). */
public final class Mounts {
    private Mounts() {}

    /**
     * A mount point of the filesystem on device {@code major:minor}, preferring a mount of the filesystem's
     * root (a bind mount of a subdirectory reaches fewer of its files); empty when none is mounted.
     */
    public static Optional<String> pointOf(int major, int minor) {
        String dev = major + ":" + minor;
        String found = null;
        for (String line : mountinfo()) {
            // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
            String[] f = line.split(" ");
            if (f.length < 5 || !f[2].equals(dev)) {
                continue;
            }
            String point = unescape(f[4]);
            if (f[3].equals("/")) {
                return Optional.of(point);
            }
            if (found == null) {
                found = point;
            }
        }
        return Optional.ofNullable(found);
    }

    /** The first mount point of a filesystem of type {@code fsType} (e.g. {@code cgroup2}); empty when none is mounted. */
    public static Optional<String> firstOfType(String fsType) {
        for (String line : mountinfo()) {
            int dash = line.indexOf(" - ");
            if (dash >= 0 && line.startsWith(fsType + " ", dash + 3)) {
                return Optional.of(unescape(line.split(" ")[4]));
            }
        }
        return Optional.empty();
    }

    private static String[] mountinfo() {
        return Proc.read(Math.toIntExact(ProcessHandle.current().pid()), "mountinfo").split("\n");
    }

    /** mountinfo writes space, tab, newline and backslash in paths as octal escapes (\040...). */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
