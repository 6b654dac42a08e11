package dev.cryo.syscalls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads of /proc: text files, thread lists, children, and the fields of {@code stat}. */
public final class Proc {
    private Proc() {}

    /** Thrown when a task's /proc entry is gone: the task exited. */
    public static final class TaskGoneException extends CryoFailure {
        public TaskGoneException(int pid) {
            super("pid " + pid + " is gone (it exited)");
        }
    }

    public static Path path(int pid, String file) {
        return Path.of("/proc", Integer.toString(pid), file);
    }

    public static String read(int pid, String file) {
        try {
            return Files.readString(path(pid, file));
        } catch (IOException e) {
            throw failure(pid, file, e);
        }
    }

    /**
     * Reads {@code /proc/PID/FILE} line by line, giving each line to {@code lines}, without holding the whole
     * text: smaps of a task with tens of thousands of mappings runs to tens of megabytes.
     */
    public static void readLines(int pid, String file, java.util.function.Consumer<String> lines) {
        try (java.io.BufferedReader in = Files.newBufferedReader(path(pid, file), java.nio.charset.StandardCharsets.ISO_8859_1)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                lines.accept(line);
            }
        } catch (IOException e) {
            throw failure(pid, file, e);
        }
    }

    /** A failed read of {@code /proc/PID/FILE}: the task gone, or the read's own error. */
    private static RuntimeException failure(int pid, String file, IOException e) {
        if (e instanceof NoSuchFileException || e.getMessage() != null && e.getMessage().contains("No such process")) {
            return new TaskGoneException(pid);
        }
        return new UncheckedIOException("cannot read " + path(pid, file), e);
    }

    public static byte[] readBytes(int pid, String file) {
        try {
            return Files.readAllBytes(path(pid, file));
        } catch (NoSuchFileException e) {
            throw new TaskGoneException(pid);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path(pid, file), e);
        }
    }

    /** The thread ids of process {@code pid}, leader first. */
    public static List<Integer> threads(int pid) {
        List<Integer> tids = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(path(pid, "task"))) {
            for (Path p : dir) {
                tids.add(Integer.parseInt(p.getFileName().toString()));
            }
        } catch (NoSuchFileException e) {
            throw new TaskGoneException(pid);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path(pid, "task"), e);
        }
        tids.sort(Integer::compare);
        if (tids.remove(Integer.valueOf(pid))) {
            tids.addFirst(pid);
        }
        return tids;
    }

    /** The children of one thread ({@code /proc/PID/task/TID/children}); a gone thread has none. */
    public static List<Integer> children(int pid, int tid) {
        List<Integer> out = new ArrayList<>();
        String text;
        try {
            text = Files.readString(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid), "children"));
        } catch (IOException e) {
            return out;
        }
        for (String s : text.trim().split("\\s+")) {
            if (!s.isEmpty()) {
                out.add(Integer.parseInt(s));
            }
        }
        return out;
    }

    /** The fields of {@code /proc/PID/stat} after the command name, so that {@code field(3)} is the state as in proc(5). */
    public record Stat(String comm, String[] rest) {
        /** Field {@code n} counted as in proc(5) (1 = pid, 2 = comm, 3 = state...). */
        public String field(int n) {
            return rest[n - 3];
        }

        public long longField(int n) {
            return Long.parseLong(field(n));
        }

        public char state() {
            return field(3).charAt(0);
        }
    }

    public static Stat stat(int pid) {
        return parseStat(read(pid, "stat"));
    }

    public static Stat stat(int pid, int tid) {
        return parseStat(read(pid, "task/" + tid + "/stat"));
    }

    private static Stat parseStat(String text) {
        int open = text.indexOf('(');
        int close = text.lastIndexOf(')');
        return new Stat(text.substring(open + 1, close), text.substring(close + 2).trim().split(" "));
    }

    /** The value of one {@code Name:} line of {@code /proc/PID/status}, or null. */
    public static String status(int pid, String name) {
        for (String line : read(pid, "status").split("\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).trim();
            }
        }
        return null;
    }
}
