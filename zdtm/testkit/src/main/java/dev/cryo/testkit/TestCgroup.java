package dev.cryo.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.cryo.syscalls.Cgroup2;

/**
 * A cgroup2 cgroup made for one test, below the hierarchy's root. Closing thaws it, moves what is still in
 * it back to the root and removes it.
 */
public final class TestCgroup implements AutoCloseable {
    private static final AtomicInteger NEXT = new AtomicInteger();
    private final Path mount;
    private final Path dir;

    private TestCgroup(Path mount, Path dir) {
        this.mount = mount;
        this.dir = dir;
    }

    /** A new empty cgroup below {@code mount}, the cgroup2 mount point. */
    public static TestCgroup create(Path mount) {
        Path dir = mount.resolve("cryo-test-" + ProcessHandle.current().pid() + "-" + NEXT.incrementAndGet());
        try {
            Files.createDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make cgroup " + dir, e);
        }
        return new TestCgroup(mount, dir);
    }

    public Path dir() {
        return dir;
    }

    /** Moves process {@code pid} (all its threads) into this cgroup. */
    public void add(int pid) {
        write(dir.resolve("cgroup.procs"), Integer.toString(pid));
    }

    /** Asks for a freeze (or a thaw) and waits until the kernel reports it done. */
    public void freeze(boolean freeze) {
        Cgroup2.askFreeze(dir, freeze);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (frozen() != freeze) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(dir + " did not " + (freeze ? "freeze" : "thaw") + " within 10 s");
            }
            pause();
        }
    }

    /** The {@code cgroup.freeze} file: whether a freeze is asked for. */
    public boolean freezeAsked() {
        return Cgroup2.freezeAsked(dir);
    }

    /** The {@code frozen} line of {@code cgroup.events}: whether every task in it is frozen. */
    public boolean frozen() {
        return Cgroup2.frozen(dir);
    }

    @Override
    public void close() {
        Cgroup2.askFreeze(dir, false);
        for (int pid : Cgroup2.processes(dir)) {
            try {
                Files.writeString(mount.resolve("cgroup.procs"), Integer.toString(pid));
            } catch (IOException e) {
                // exited meanwhile
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new UncheckedIOException("cannot remove cgroup " + dir, e);
                }
                pause(); // a task that was killed may still be leaving it
            }
        }
    }

    private static void pause() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

}
