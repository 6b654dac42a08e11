package dev.cryo.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * What the bench commands share: their options ({@code --sizes 256,1024 --runs 5 --dir DIR}), an emptied
 * images directory per run, and the median of the runs.
 */
record BenchRun(int[] sizes, int runs, Path dir) {

    static BenchRun parse(String[] args, Path defaultDir) {
        int[] sizes = {256, 1024};
        int runs = 5;
        Path dir = defaultDir;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        return new BenchRun(sizes, runs, dir);
    }

    /** {@code img}, created or emptied (of a run before too: its steps' directories and their links). */
    static Path fresh(Path img) throws Exception {
        if (Files.exists(img)) {
            try (var s = Files.walk(img)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    if (!p.equals(img)) {
                        Files.delete(p);
                    }
                }
            }
        }
        return Files.createDirectories(img);
    }

    /** Removes {@code dir} and everything in it: a bench's images on tmpfs, once its figures are printed. */
    static void remove(Path dir) throws Exception {
        fresh(dir);
        Files.deleteIfExists(dir);
    }

    static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
