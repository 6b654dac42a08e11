package dev.cryo.lazypages.internal;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.Poll;
import dev.cryo.syscalls.Proc;
import dev.cryo.syscalls.Signals;

/**
 * Kills a restored tree whose memory can no longer come: every process the restore handed over (by pidfd, so
 * never another process that took a pid) and every descendant of theirs, forked after the restore (their
 * memory came from the same source). The tree is stopped first, walk after walk until a walk finds no new
 * process (a stopped process forks no more), then killed: a child forked between a walk and a kill would
 * otherwise escape, and read zeroes where its pages never came once the daemon's userfaultfds close.
 */
final class TreeKill {
    private static final int MAX_WALKS = 100;

    private TreeKill() {}

    /** Returns the pids killed. */
    static List<Integer> kill(List<Fd> handed) {
        Set<Integer> roots = new LinkedHashSet<>();
        for (Fd pidfd : handed) {
            try {
                Pidfd.sendSignal(pidfd, Kernel.SIGSTOP);
                int pid = Pidfd.pid(pidfd);
                if (pid > 0) {
                    roots.add(pid);
                }
            } catch (ErrnoException | java.io.UncheckedIOException gone) {
                // exited already
            }
        }
        Set<Integer> all = new LinkedHashSet<>(roots);
        for (int walk = 0; walk < MAX_WALKS; walk++) {
            Set<Integer> found = new LinkedHashSet<>();
            for (int pid : all) {
                descendants(pid, found);
            }
            found.removeAll(all);
            if (found.isEmpty()) {
                break;
            }
            for (int pid : found) {
                signal(pid, Kernel.SIGSTOP);
            }
            all.addAll(found);
        }
        for (Fd pidfd : handed) {
            try {
                Pidfd.sendSignal(pidfd, Kernel.SIGKILL);
            } catch (ErrnoException gone) {
                // exited already
            }
        }
        for (int pid : all) {
            if (!roots.contains(pid)) {
                signal(pid, Kernel.SIGKILL);
            }
        }
        awaitGone(handed, all);
        return new ArrayList<>(all);
    }

    /** Until every process killed has exited (its pidfd readable, or its /proc entry gone or a zombie), 10 s at most. */
    private static void awaitGone(List<Fd> handed, Set<Integer> all) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Fd pidfd : handed) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left > 0) {
                Poll.poll(new int[] {pidfd.fd()}, new short[] {(short) Kernel.POLLIN}, (int) left);
            }
        }
        for (int pid : all) {
            while (running(pid) && System.nanoTime() < deadline) {
                Thread.onSpinWait();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static boolean running(int pid) {
        try {
            return Proc.stat(pid).state() != 'Z';
        } catch (Proc.TaskGoneException e) {
            return false;
        }
    }

    private static void descendants(int pid, Set<Integer> out) {
        List<Integer> tids;
        try {
            tids = Proc.threads(pid);
        } catch (Proc.TaskGoneException e) {
            return;
        }
        for (int tid : tids) {
            try {
                for (int child : Proc.children(pid, tid)) {
                    if (out.add(child)) {
                        descendants(child, out);
                    }
                }
            } catch (Proc.TaskGoneException e) {
                // the thread ended
            }
        }
    }

    private static void signal(int pid, int sig) {
        try {
            Signals.kill(pid, sig);
        } catch (ErrnoException gone) {
            // exited meanwhile
        }
    }
}
