package dev.cryo.zdtm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What anyone can see of a process tree from outside, in a form that a faithful restore keeps: pids as seen
 * inside the tree's own pid namespace, /proc/PID/maps without device and inode numbers, fds with their targets
 * (pipe and socket inodes renamed in order of appearance, so that sharing shows but numbers do not),
 * their flags and offsets, the lines of /proc/PID/status that describe the process rather than the moment, and
 * whether each task shares the runner's IPC namespace or one of the tree's own.
 */
public record VisibleState(List<Task> tasks) {
    /** /proc/PID/status lines compared: the ones a checkpoint must carry over. */
    static final List<String> STATUS_KEYS = List.of("Umask", "Threads", "FDSize", "SigPnd", "ShdPnd", "SigBlk", "SigIgn",
            "SigCgt", "Uid", "Gid", "Groups", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp");

    private static final Pattern INODE = Pattern.compile("^(pipe|socket|anon_inode:\\[?[a-z_]*\\]?|net):\\[(\\d+)\\]$");

    /**
     * One process.
     *
     * @param pid    its pid in the tree's innermost namespace
     * @param parent the parent's pid there, or "outside"
     * @param pgid   the process group, "outside" when led by a process out of the tree
     * @param sid    the session, likewise
     * @param tids   the thread ids, innermost namespace
     * @param fields the {@link #STATUS_KEYS} lines of /proc/PID/status
     * @param files  comm, exe, cwd and root, and the IPC namespace ("the runner's" or "own #N")
     * @param fds    fd number to "target flags=... pos=..."
     * @param maps   /proc/PID/maps lines without device and inode
     */
    public record Task(int pid, String parent, String pgid, String sid, List<Integer> tids, Map<String, String> fields,
                       Map<String, String> files, SortedMap<Integer, String> fds, List<String> maps) {}

    /** Reads the tree rooted at host pid ROOT: the root and every descendant, parents before children. */
    public static VisibleState capture(int root) {
        List<Integer> hostPids = new ArrayList<>();
        descendants(root, hostPids);
        Map<Integer, Integer> inner = new HashMap<>();
        Map<Integer, Map<String, String>> status = new HashMap<>();
        for (int pid : hostPids) {
            Map<String, String> s = status(Path.of("/proc/" + pid + "/status"));
            status.put(pid, s);
            inner.put(pid, last(s.getOrDefault("NSpid", Integer.toString(pid))));
        }
        List<Task> tasks = new ArrayList<>();
        Map<String, String> inodes = new HashMap<>(); // pipe:[123] -> pipe:#1, across the whole tree
        // ipc:[4026532175] -> "own #1": whether a task shares the runner's IPC namespace or has one of its tree's
        Map<String, String> ipcs = new HashMap<>(Map.of(readLink(Path.of("/proc/self/ns/ipc")), "the runner's"));
        for (int pid : hostPids) {
            Map<String, String> s = status.get(pid);
            if (s.isEmpty()) {
                continue; // gone while we looked
            }
            int ppid = Integer.parseInt(s.getOrDefault("PPid", "0"));
            String parent = pid == root || !inner.containsKey(ppid) ? "outside" : Integer.toString(inner.get(ppid));
            Map<String, String> fields = new LinkedHashMap<>();
            for (String k : STATUS_KEYS) {
                fields.put(k, s.getOrDefault(k, ""));
            }
            tasks.add(new Task(inner.get(pid), parent, inTree(s.get("NSpgid"), inner), inTree(s.get("NSsid"), inner),
                    tids(pid), fields, files(pid, ipcs), fds(pid, inodes), maps(pid)));
        }
        return new VisibleState(List.copyOf(tasks));
    }

    /**
     * Where each thread of the tree at host pid ROOT is, by its innermost tid: the number of the system call it
     * sleeps in, or "running". Not compared (a restarted sleep may be another call, restart_syscall), but waited
     * for: a restored task is released just before its restarted call, with the mask that call replaces.
     */
    public static Map<Integer, String> syscalls(int root) {
        List<Integer> pids = new ArrayList<>();
        descendants(root, pids);
        Map<Integer, String> out = new TreeMap<>();
        for (int pid : pids) {
            for (String tid : list(Path.of("/proc/" + pid + "/task"))) {
                Path task = Path.of("/proc/" + pid + "/task/" + tid);
                int inner = last(status(task.resolve("status")).getOrDefault("NSpid", tid));
                String call = read(task.resolve("syscall")).trim().split("\\s+")[0];
                // A thread that waits for a page of a lazy restore (even inside a call, copying its arguments)
                // is on its way, not at rest.
                if (read(task.resolve("wchan")).trim().equals("handle_userfault")) {
                    call = "running";
                }
                out.put(inner, call.isEmpty() ? "gone" : call);
            }
        }
        return out;
    }

    /** The whole state as text, a task after another (kept beside a failed test's images). */
    public String describe() {
        StringBuilder b = new StringBuilder();
        for (Task t : tasks) {
            b.append("pid ").append(t.pid()).append(" parent ").append(t.parent()).append(" pgid ").append(t.pgid())
                    .append(" sid ").append(t.sid()).append(" threads ").append(t.tids()).append('\n');
            t.fields().forEach((k, v) -> b.append("  ").append(k).append(": ").append(v).append('\n'));
            t.files().forEach((k, v) -> b.append("  ").append(k).append(": ").append(v).append('\n'));
            t.fds().forEach((k, v) -> b.append("  fd ").append(k).append(": ").append(v).append('\n'));
            t.maps().forEach(m -> b.append("  ").append(m).append('\n'));
        }
        return b.toString();
    }

    /** What differs from BEFORE to this state, one line each, in terms a developer can act on; empty when alike. */
    public List<String> differencesFrom(VisibleState before) {
        List<String> out = new ArrayList<>();
        Map<Integer, Task> now = new LinkedHashMap<>();
        for (Task t : tasks) {
            now.put(t.pid(), t);
        }
        for (Task b : before.tasks()) {
            Task a = now.remove(b.pid());
            if (a == null) {
                out.add("pid " + b.pid() + " is missing");
                continue;
            }
            String p = "pid " + b.pid() + ": ";
            same(out, p + "parent", b.parent(), a.parent());
            same(out, p + "process group", b.pgid(), a.pgid());
            same(out, p + "session", b.sid(), a.sid());
            same(out, p + "threads", b.tids(), a.tids());
            for (String k : b.fields().keySet()) {
                same(out, p + k, b.fields().get(k), a.fields().get(k));
            }
            for (String k : b.files().keySet()) {
                same(out, p + k, b.files().get(k), a.files().get(k));
            }
            for (Map.Entry<Integer, String> fd : b.fds().entrySet()) {
                same(out, p + "fd " + fd.getKey(), fd.getValue(), a.fds().getOrDefault(fd.getKey(), "(closed)"));
            }
            for (Integer fd : a.fds().keySet()) {
                if (!b.fds().containsKey(fd)) {
                    out.add(p + "fd " + fd + " is new: " + a.fds().get(fd));
                }
            }
            mapsDiff(out, p, b.maps(), a.maps());
        }
        for (Task extra : now.values()) {
            out.add("pid " + extra.pid() + " is new");
        }
        return out;
    }

    private static void same(List<String> out, String what, Object before, Object after) {
        if (!Objects.equals(before, after)) {
            out.add(what + " was " + before + ", is " + after);
        }
    }

    /** The first few mappings that are gone or new, by their normalised line. */
    private static void mapsDiff(List<String> out, String p, List<String> before, List<String> after) {
        List<String> gone = new ArrayList<>(before);
        gone.removeAll(after);
        List<String> added = new ArrayList<>(after);
        added.removeAll(before);
        gone.stream().limit(3).forEach(m -> out.add(p + "mapping gone: " + m));
        added.stream().limit(3).forEach(m -> out.add(p + "mapping new: " + m));
        if (gone.size() + added.size() > 6) {
            out.add(p + (gone.size() + added.size() - Math.min(3, gone.size()) - Math.min(3, added.size()))
                    + " more mappings differ");
        }
    }

    /** A /proc/PID/maps line without device and inode: "start-end perms offset path". */
    static String normaliseMap(String line) {
        String[] f = line.trim().split("\\s+", 6);
        if (f.length < 5) {
            return line.trim();
        }
        return f[0] + " " + f[1] + " " + f[2] + (f.length == 6 ? " " + f[5] : "");
    }

    /** An fd target with kernel-chosen inode numbers replaced by their order of appearance. */
    static String normaliseTarget(String target, Map<String, String> inodes) {
        Matcher m = INODE.matcher(target);
        if (!m.matches()) {
            return target;
        }
        return inodes.computeIfAbsent(target, t -> m.group(1) + ":#" + (inodes.size() + 1));
    }

    private static void descendants(int pid, List<Integer> out) {
        out.add(pid);
        for (String tid : list(Path.of("/proc/" + pid + "/task"))) {
            for (String child : read(Path.of("/proc/" + pid + "/task/" + tid + "/children")).trim().split("\\s+")) {
                if (!child.isEmpty()) {
                    descendants(Integer.parseInt(child), out);
                }
            }
        }
    }

    private static List<Integer> tids(int pid) {
        List<Integer> out = new ArrayList<>();
        for (String tid : list(Path.of("/proc/" + pid + "/task"))) {
            Map<String, String> s = status(Path.of("/proc/" + pid + "/task/" + tid + "/status"));
            out.add(last(s.getOrDefault("NSpid", tid)));
        }
        out.sort(null);
        return out;
    }

    private static Map<String, String> files(int pid, Map<String, String> ipcs) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("comm", read(Path.of("/proc/" + pid + "/comm")).strip());
        for (String link : List.of("exe", "cwd", "root")) {
            out.put(link, readLink(Path.of("/proc/" + pid + "/" + link)));
        }
        out.put("ipc namespace", ipcs.computeIfAbsent(readLink(Path.of("/proc/" + pid + "/ns/ipc")), k -> "own #" + ipcs.size()));
        return out;
    }

    private static SortedMap<Integer, String> fds(int pid, Map<String, String> inodes) {
        SortedMap<Integer, String> out = new TreeMap<>();
        List<Integer> numbers = new ArrayList<>();
        for (String fd : list(Path.of("/proc/" + pid + "/fd"))) {
            numbers.add(Integer.parseInt(fd));
        }
        numbers.sort(null);
        for (int fd : numbers) {
            String target = normaliseTarget(readLink(Path.of("/proc/" + pid + "/fd/" + fd)), inodes);
            Map<String, String> info = status(Path.of("/proc/" + pid + "/fdinfo/" + fd));
            out.put(fd, target + " flags=" + info.getOrDefault("flags", "?") + " pos=" + info.getOrDefault("pos", "?"));
        }
        return out;
    }

    private static List<String> maps(int pid) {
        return mergeAdjacent(read(Path.of("/proc/" + pid + "/maps")).lines().map(VisibleState::normaliseMap).toList());
    }

    /**
     * Joins neighbouring mappings that differ only in being two VMAs: same protection and path, and for files
     * the offsets follow on. The kernel merges such VMAs when it can and keeps them apart for reasons that do
     * not show (anon_vma history, a thread stack's guard once there); a restore that maps them anew merges them.
     * zdtm.py in CRIU compares the same way.
     */
    static List<String> mergeAdjacent(List<String> lines) {
        List<String> out = new ArrayList<>();
        long[] last = null;
        String lastRest = null;
        for (String line : lines) {
            String[] f = line.split(" ", 4); // range perms offset [path]
            String[] range = f[0].split("-");
            long start = Long.parseUnsignedLong(range[0], 16), end = Long.parseUnsignedLong(range[1], 16);
            long offset = Long.parseUnsignedLong(f[2], 16);
            String path = f.length > 3 ? f[3] : "";
            String rest = f[1] + " " + path;
            boolean file = path.startsWith("/");
            if (last != null && last[1] == start && rest.equals(lastRest) && !path.startsWith("[")
                    && (!file || last[2] + (last[1] - last[0]) == offset)) {
                last[1] = end;
                continue;
            }
            if (last != null) {
                out.add(mapLine(last, lastRest));
            }
            last = new long[] {start, end, offset};
            lastRest = rest;
        }
        if (last != null) {
            out.add(mapLine(last, lastRest));
        }
        return out;
    }

    private static String mapLine(long[] m, String rest) {
        String[] pp = rest.split(" ", 2);
        return String.format(java.util.Locale.ROOT, "%x-%x %s %08x%s", m[0], m[1], pp[0], m[2], pp[1].isEmpty() ? "" : " " + pp[1]);
    }

    private static String inTree(String nsValue, Map<Integer, Integer> inner) {
        if (nsValue == null) {
            return "?";
        }
        int id = last(nsValue);
        return inner.containsValue(id) ? Integer.toString(id) : "outside";
    }

    /** The innermost of an NSpid-like list ("4242 1" -> 1). */
    private static int last(String nsList) {
        String[] f = nsList.trim().split("\\s+");
        return Integer.parseInt(f[f.length - 1]);
    }

    /** "Key:\tvalue" lines (status, fdinfo) as a map; empty when the process is gone. */
    static Map<String, String> status(Path file) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : read(file).lines().toList()) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                out.put(line.substring(0, colon), line.substring(colon + 1).strip());
            }
        }
        return out;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    private static String readLink(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (IOException e) {
            return "?";
        }
    }

    private static List<String> list(Path dir) {
        try (var s = Files.list(dir)) {
            return s.map(x -> x.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
