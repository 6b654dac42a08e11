package dev.cryo.parasite;

import java.nio.file.Path;

/**
 * How a {@link FrozenTree} was stopped: by the freezer of its own cgroup2 cgroup (then seized), or task by
 * task with ptrace.
 */
public sealed interface Freezer {
    /** Stopped task by task: PTRACE_SEIZE and PTRACE_INTERRUPT. */
    Freezer PTRACE = new Ptrace();

    /** Short, as {@code --display-stats} shows it: {@code cgroup2 PATH} or {@code ptrace}. */
    String label();

    /** The freezer of {@code cgroup}, the tree's own, stopped all of it at once. */
    record Cgroup2(Path cgroup) implements Freezer {
        @Override
        public String label() {
            return "cgroup2 " + cgroup;
        }
    }

    /** See {@link #PTRACE}. */
    record Ptrace() implements Freezer {
        @Override
        public String label() {
            return "ptrace";
        }
    }
}
