package dev.cryo.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A tree that a test's restore brought back: no {@link Target} owns it (the nanny's program was dumped and
 * killed), so the test asks it and ends it by pid. With {@code --pidns} its root's parent is cryo's init of the
 * new pid namespace, whose death takes every process of the namespace along.
 */
public final class RestoredTree {
    private RestoredTree() {}

    /**
     * Asks the zdtm program {@code pid} (restored from a dump of a program started in {@code dir}) to check its
     * state (SIGUSR1) and returns what it wrote in {@code DIR/check}: "PASS" or the reason; within 60 s.
     */
    public static String check(int pid, Path dir) {
        return Target.checkOf(pid, dir);
    }

    /**
     * Kills the restored tree under {@code root}: the init of its pid namespace when its parent is one, else
     * {@code root} and its descendants; then waits until each is gone or a zombie (20 s at most).
     */
    public static void kill(int root) {
        if (root <= 0 || !Files.exists(Path.of("/proc/" + root))) {
            return;
        }
        List<Integer> tree = new java.util.ArrayList<>();
        int parent = parentOf(root);
        if (parent > 0 && isNamespaceInit(parent)) {
            tree.add(parent);
        }
        Target.collect(root, tree);
        for (int pid : tree) {
            Target.signal(pid, "KILL");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (int pid : tree) {
            while (Files.exists(Path.of("/proc/" + pid)) && Target.state(pid) != 'Z' && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Whether {@code pid} is pid 1 of the namespace it lives in (its NSpid line ends with 1). */
    public static boolean isNamespaceInit(int pid) {
        try {
            return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .anyMatch(l -> l.startsWith("NSpid:") && l.strip().endsWith("\t1"));
        } catch (IOException e) {
            return false;
        }
    }

    private static int parentOf(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
        } catch (IOException e) {
            return 0;
        } catch (RuntimeException e) {
            throw new UncheckedIOException(new IOException("unreadable /proc/" + pid + "/stat", e));
        }
    }
}
