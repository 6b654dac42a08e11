package dev.cryo.dump.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.syscalls.Proc;

/** Checks of the request made before anything is touched: each failure is a one-line reason. */
final class Preflight {
    /** flags in /proc/PID/stat (proc(5)), and PF_KTHREAD of include/linux/sched.h: not in bindings' UAPI headers. */
    private static final int STAT_FLAGS = 9;
    private static final long PF_KTHREAD = 0x00200000;

    private Preflight() {}

    static void check(DumpOptions o) throws DumpException {
        int pid = o.pid();
        long self = ProcessHandle.current().pid();
        if (pid <= 0) {
            throw new DumpException("cannot dump pid " + pid + ": not a process id");
        }
        if (pid == 1) {
            throw new DumpException("cannot dump pid 1: it is init, and freezing it would freeze the system");
        }
        if (pid == self) {
            throw new DumpException("cannot dump pid " + pid + ": it is cryo itself");
        }
        if (!Files.isDirectory(Path.of("/proc/" + pid))) {
            throw new DumpException("cannot dump pid " + pid + ": no such process");
        }
        char state;
        try {
            state = Proc.stat(pid).state();
        } catch (Proc.TaskGoneException e) {
            throw new DumpException("cannot dump pid " + pid + ": no such process");
        }
        if (state == 'Z') {
            throw new DumpException("cannot dump pid " + pid + ": it is a zombie (it has exited and waits for its parent)");
        }
        seizable(pid);
        for (ProcessHandle h = ProcessHandle.current().parent().orElse(null); h != null; h = h.parent().orElse(null)) {
            if (h.pid() == pid) {
                throw new DumpException("cannot dump pid " + pid + ": it is an ancestor of cryo");
            }
        }
        // the images directory is checked when the run claims it (DumpDirectory)
    }

    /**
     * Refuses, before anything is frozen, what PTRACE_SEIZE would refuse with a bare EPERM: a kernel
     * thread (it has no user memory to dump), and a task of the tree that another tracer holds already
     * (a task has one tracer: a debugger, strace, another cryo).
     */
    private static void seizable(int pid) throws DumpException {
        try {
            Proc.Stat stat = Proc.stat(pid);
            if ((stat.longField(STAT_FLAGS) & PF_KTHREAD) != 0) {
                throw new DumpException("cannot dump pid " + pid + ": it is a kernel thread (" + stat.comm()
                        + "), which has no user memory to dump");
            }
            List<Integer> tree = new ArrayList<>(List.of(pid));
            for (int i = 0; i < tree.size(); i++) {
                int p = tree.get(i);
                for (int tid : Proc.threads(p)) {
                    int by = tracer(p, tid);
                    if (by != 0) {
                        by = process(by); // TracerPid names the tracing thread
                        String who = p == pid && tid == pid ? "it is"
                                : p == pid ? "its thread " + tid + " is"
                                : "pid " + p + (tid == p ? "" : " (thread " + tid + ")") + " of its tree is";
                        throw new DumpException("cannot dump pid " + pid + ": " + who + " already traced by pid " + by
                                + " (" + comm(by) + "), and a task has one tracer; detach that one first");
                    }
                    tree.addAll(Proc.children(p, tid));
                }
            }
        } catch (Proc.TaskGoneException gone) {
            // a task that exits now is the freeze's business: it waits for the tree to settle
        }
    }

    /** TracerPid of thread {@code tid}: 0 when nobody traces it. */
    private static int tracer(int pid, int tid) {
        for (String line : Proc.read(pid, "task/" + tid + "/status").split("\n")) {
            if (line.startsWith("TracerPid:")) {
                return Integer.parseInt(line.substring("TracerPid:".length()).trim());
            }
        }
        return 0;
    }

    /** The process that thread {@code tid} belongs to. */
    private static int process(int tid) {
        try {
            String tgid = Proc.status(tid, "Tgid");
            return tgid == null ? tid : Integer.parseInt(tgid);
        } catch (RuntimeException e) {
            return tid;
        }
    }

    private static String comm(int pid) {
        try {
            return Proc.stat(pid).comm();
        } catch (RuntimeException e) {
            return "?";
        }
    }
}
