package dev.cryo.parasite;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import dev.cryo.syscalls.Cgroup2;
import dev.cryo.syscalls.Proc;

/**
 * The cgroup2 freezer of a tree that has a cgroup of its own: every process in the cgroup (and below it) is
 * the tree's root or one of its descendants, and cryo is not among them. Frozen, the tree stops at once
 * and can neither fork nor exit while {@link FrozenTree} walks and seizes it; seized tasks stay in their
 * ptrace stops when it is thawed again, which must happen before cryo runs code in them (a frozen task that
 * is continued goes back into the freezer instead). Closing puts back the freezer state it found: a cgroup
 * someone had frozen before the dump is frozen again before the tasks are detached.
 */
final class CgroupFreeze implements AutoCloseable {
    /** How long the kernel may take to freeze every task (one in an uninterruptible sleep delays it). */
    private static final long FREEZE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final Path cgroup;
    private final boolean frozenBefore;
    private boolean closed;

    private CgroupFreeze(Path cgroup, boolean frozenBefore) {
        this.cgroup = cgroup;
        this.frozenBefore = frozenBefore;
    }

    /**
     * The cgroup to freeze for the tree of {@code root}; empty when the tree shares its cgroup, or has none, or
     * cgroup2 is not mounted ({@code mount} null).
     */
    static Optional<Path> ownCgroup(int root, Path mount) {
        if (mount == null) {
            return Optional.empty();
        }
        Optional<Path> cgroup;
        try {
            cgroup = Cgroup2.cgroupOf(root, mount);
        } catch (Proc.TaskGoneException e) {
            return Optional.empty(); // the walk reports it
        }
        if (cgroup.isEmpty()) {
            return Optional.empty();
        }
        int self = Math.toIntExact(ProcessHandle.current().pid());
        Set<Integer> inTree = new HashSet<>(Set.of(root));
        try {
            for (int pid : Cgroup2.processes(cgroup.get())) {
                if (pid == self || !descendsFrom(pid, root, inTree)) {
                    return Optional.empty();
                }
            }
        } catch (UncheckedIOException e) {
            return Optional.empty(); // a cgroup cryo cannot read (a threaded one lists no processes): task by task
        }
        return cgroup;
    }

    /** Whether {@code pid} is {@code root} or below it, by its parents; {@code known} holds pids found below it so far. */
    private static boolean descendsFrom(int pid, int root, Set<Integer> known) {
        Set<Integer> path = new HashSet<>();
        int p = pid;
        while (!known.contains(p)) {
            if (p <= 1 || !path.add(p)) {
                return false;
            }
            try {
                p = Integer.parseInt(Proc.stat(p).field(4));
            } catch (Proc.TaskGoneException e) {
                return false;
            }
        }
        known.addAll(path);
        return true;
    }

    /**
     * Freezes {@code cgroup} and waits until the kernel says every task in it is frozen. Empty if it does not
     * within the time limit, or its files cannot be read or written: the freeze is then taken back (if it
     * was cryo's) and the tree is seized task by task as any other.
     */
    static Optional<CgroupFreeze> freeze(Path cgroup, Cancellation cancel) {
        CgroupFreeze freeze;
        try {
            freeze = new CgroupFreeze(cgroup, Cgroup2.freezeAsked(cgroup));
        } catch (UncheckedIOException e) {
            return Optional.empty();
        }
        try {
            Cgroup2.askFreeze(cgroup, true);
            long deadline = System.nanoTime() + FREEZE_TIMEOUT_NANOS;
            while (!Cgroup2.frozen(cgroup)) {
                cancel.check();
                if (System.nanoTime() > deadline) {
                    freeze.closeQuietly();
                    return Optional.empty();
                }
                freeze.sleepBriefly();
            }
            return Optional.of(freeze);
        } catch (UncheckedIOException e) {
            freeze.closeQuietly();
            return Optional.empty();
        } catch (RuntimeException e) {
            freeze.closeQuietly();
            throw e;
        }
    }

    /**
     * Refuses a tree with a process held by a cgroup freeze that is not cryo's to lift (the cgroup is shared
     * with processes outside the tree, or frozen above the tree's own): code cryo injects would never run.
     */
    static void refuseFrozen(Collection<Integer> pids, Path mount) {
        if (mount == null) {
            return;
        }
        Set<Path> looked = new HashSet<>(); // the tree is frozen meanwhile: each cgroup's ancestry is read once
        for (int pid : pids) {
            Optional<Path> cgroup = Cgroup2.cgroupOf(pid, mount);
            Optional<Path> frozen = cgroup.filter(looked::add).flatMap(c -> Cgroup2.frozenBy(c, mount));
            if (frozen.isPresent()) {
                throw new FrozenTree.HeldByCgroupException(pid, frozen.get());
            }
        }
    }

    Path cgroup() {
        return cgroup;
    }

    /** Thaws the cgroup once its tasks are seized: they stay stopped, and can now run what cryo injects. */
    void thawSeized() {
        Cgroup2.askFreeze(cgroup, false);
    }

    /** Puts back the freezer state found before the dump (frozen again, or thawed). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Cgroup2.askFreeze(cgroup, frozenBefore);
    }

    private void closeQuietly() {
        try {
            close();
        } catch (UncheckedIOException e) {
            // the cgroup is gone or cannot be written: nothing of cryo's is left in it to take back
        }
    }

    private void sleepBriefly() {
        try {
            Thread.sleep(0, 200_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Cancellation.CancelledException("interrupted while freezing " + cgroup);
        }
    }
}
