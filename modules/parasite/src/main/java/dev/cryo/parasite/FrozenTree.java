package dev.cryo.parasite;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.cryo.syscalls.Cgroup2;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Signals;

/**
 * A process tree whose every thread is seized and stopped. Closing it releases the tree: by default the
 * tasks run on (every error path ends here), and only after {@link #killOnRelease()} are they killed.
 *
 * <p>A tree with a cgroup2 cgroup of its own is frozen by the cgroup first ({@link CgroupFreeze}): all of
 * it stops at once, and the walk that seizes it sees it as it was. Any other tree (or one whose cgroup does
 * not freeze in time) is stopped task by task; as tasks may fork or clone while cryo walks the tree, the
 * walk repeats until a pass finds nothing new, and a stopped task cannot create more. Either way, every
 * thread ends seized and in a ptrace stop, and the cgroup, if any, is thawed again before cryo runs code
 * in the tasks.
 *
 * <p>A child that has exited and waits for its parent (a zombie) is part of the tree but is not seized: the
 * kernel refuses to trace it (EPERM), it runs nothing, and its stopped parent cannot reap it while cryo
 * holds the tree. It has no children of its own (they were reparented when it exited).
 */
public final class FrozenTree implements AutoCloseable {
    private final int root;
    private final Map<Integer, List<Tracee>> processes = new LinkedHashMap<>();
    private final Map<Integer, Integer> parents = new LinkedHashMap<>();
    private final Set<Integer> zombies = new LinkedHashSet<>();
    private final long frozenAt;
    private long releasedAt;
    private boolean kill;
    private boolean released;
    private CgroupFreeze cgroupFreeze;

    private FrozenTree(int root) {
        this.root = root;
        this.frozenAt = System.nanoTime();
    }

    /** Seizes and stops every thread of {@code root} and of all its descendants. */
    public static FrozenTree freeze(int root, Cancellation cancel) {
        Path mount = Cgroup2.mountPoint().orElse(null);
        Optional<Path> cgroup = CgroupFreeze.ownCgroup(root, mount);
        FrozenTree tree = new FrozenTree(root);
        try {
            if (cgroup.isPresent()) {
                tree.cgroupFreeze = CgroupFreeze.freeze(cgroup.get(), cancel).orElse(null);
            }
            boolean grew = true;
            while (grew) {
                grew = tree.walk(cancel);
            }
            if (!tree.processes.containsKey(root)) {
                throw new Tracee.TaskExitedException(root);
            }
            if (tree.cgroupFreeze != null) {
                tree.cgroupFreeze.thawSeized();
            }
            CgroupFreeze.refuseFrozen(tree.processes.keySet(), mount);
            StopPoints.reach("frozen");
            return tree;
        } catch (RuntimeException e) {
            tree.close();
            throw e;
        }
    }

    private boolean walk(Cancellation cancel) {
        boolean grew = false;
        Deque<Integer> queue = new ArrayDeque<>();
        queue.add(root);
        while (!queue.isEmpty()) {
            cancel.check();
            int pid = queue.poll();
            if (zombies.contains(pid)) {
                continue;
            }
            List<Integer> tids;
            try {
                tids = Proc.threads(pid);
            } catch (Proc.TaskGoneException e) {
                continue;
            }
            List<Tracee> seized = processes.computeIfAbsent(pid, p -> new ArrayList<>());
            if (seized.isEmpty() && isZombie(pid)) {
                processes.remove(pid);
                zombies.add(pid);
                grew = true;
                continue;
            }
            for (int tid : tids) {
                if (seized.stream().noneMatch(t -> t.tid() == tid)) {
                    Tracee t;
                    try {
                        t = Tracee.seize(pid, tid);
                    } catch (ErrnoException e) {
                        if (e.is(Errno.EPERM) && seized.isEmpty() && isZombie(pid)) {
                            break; // it became a zombie after the look at its state: see below
                        }
                        throw e;
                    }
                    if (t != null) {
                        seized.add(t);
                        grew = true;
                    }
                }
            }
            if (seized.isEmpty()) {
                processes.remove(pid);
                // It exited between the look at its state and the seize: a zombie now, which its stopped parent keeps.
                if (isZombie(pid)) {
                    zombies.add(pid);
                    grew = true;
                }
                continue;
            }
            for (Tracee t : seized) {
                for (int child : Proc.children(pid, t.tid())) {
                    parents.putIfAbsent(child, pid);
                    queue.add(child);
                }
            }
        }
        return grew;
    }

    /**
     * A whole process that has exited and not been reaped: state Z and no thread left but its leader. (A
     * leader that exited while its other threads run shows Z too, and is not a zombie.)
     */
    private static boolean isZombie(int pid) {
        try {
            return Proc.stat(pid).state() == 'Z' && Proc.threads(pid).equals(List.of(pid));
        } catch (Proc.TaskGoneException e) {
            return false;
        }
    }

    public int root() {
        return root;
    }

    /** The processes of the tree, parents before children, each with its threads (leader first). */
    public Map<Integer, List<Tracee>> processes() {
        return Collections.unmodifiableMap(processes);
    }

    /**
     * The tree's zombies, in the order found: children of its processes that exited and wait for their
     * parent. They are not seized, so they are not among {@link #processes()}.
     */
    public Set<Integer> zombies() {
        return Collections.unmodifiableSet(zombies);
    }

    /** The parent pid of {@code pid} (a process or a zombie) within the tree, or 0 for the root. */
    public int parentOf(int pid) {
        return parents.getOrDefault(pid, 0);
    }

    public Tracee leader(int pid) {
        return processes.get(pid).getFirst();
    }

    public int threadCount() {
        return processes.values().stream().mapToInt(List::size).sum();
    }

    /** On close, kill the tree instead of letting it run: the dump is complete. */
    public void killOnRelease() {
        kill = true;
    }

    /** How the tree was stopped: by its cgroup's freezer (then ptrace), or task by task with ptrace. */
    public Freezer freezer() {
        return cgroupFreeze == null ? Freezer.PTRACE : new Freezer.Cgroup2(cgroupFreeze.cgroup());
    }

    /** Nanoseconds from the first stop to the release (or to now, if not yet released). */
    public long frozenNanos() {
        return (released ? releasedAt : System.nanoTime()) - frozenAt;
    }

    @Override
    public void close() {
        if (released) {
            return;
        }
        released = true;
        RuntimeException first = null;
        if (cgroupFreeze != null) {
            // Before the detach: a cgroup that was frozen before the dump takes its tasks straight back.
            try {
                cgroupFreeze.close();
            } catch (RuntimeException e) {
                first = e;
            }
        }
        if (kill) {
            // Kill while still seized, so that no task runs another instruction after the dump.
            for (int pid : processes.keySet()) {
                try {
                    Signals.kill(pid, Kernel.SIGKILL);
                } catch (ErrnoException ignored) {
                    // gone already
                }
            }
            processes.values().forEach(ts -> ts.forEach(Tracee::detachQuietly));
        } else {
            for (List<Tracee> ts : processes.values()) {
                for (Tracee t : ts) {
                    try {
                        t.release();
                    } catch (RuntimeException e) {
                        if (first == null) {
                            first = e;
                        } else {
                            first.addSuppressed(e);
                        }
                        t.detachQuietly();
                    }
                }
            }
        }
        releasedAt = System.nanoTime();
        if (first != null) {
            throw first;
        }
    }

    /** A process of the tree is held by a cgroup freeze that is not the tree's own to lift: injected code would never run. */
    public static final class HeldByCgroupException extends dev.cryo.syscalls.CryoFailure {
        HeldByCgroupException(int pid, Path cgroup) {
            super("pid " + pid + " is held by the freeze of cgroup " + cgroup + ", which is not the tree's own to lift;"
                    + " thaw it first (echo 0 > " + cgroup.resolve("cgroup.freeze") + ")");
        }
    }
}
