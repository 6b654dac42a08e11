package dev.cryo.syscalls;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.cryo.bindings.Linux;

/** /proc read through {@link Proc}, checked against what the test knows of the processes it looks at. */
class ProcTest {
    private static final int SELF = Math.toIntExact(ProcessHandle.current().pid());

    @Test
    void statIsParsedAfterACommandNameWithSpacesAndParentheses() throws Exception {
        String comm = "a) (b c)";
        try (Orphan o = Orphan.start(comm)) {
            Proc.Stat s = Proc.stat(o.pid);
            assertThat(s.comm()).isEqualTo(comm);
            assertThat(s.state()).isEqualTo('S');
            assertThat(s.longField(4)).as("ppid: the orphan's reaper, this JVM").isEqualTo(SELF);
            assertThat(s.field(4)).isEqualTo(Proc.status(o.pid, "PPid"));
            assertThat(s.longField(5)).as("pgrp: the shell's, which started it").isEqualTo(Long.parseLong(Proc.status(o.pid, "NSpgid")));
            assertThat(s.longField(20)).as("num_threads").isEqualTo(1);
            assertThat(Proc.stat(o.pid, o.pid).comm()).as("the thread's own stat").isEqualTo(comm);
            assertThat(Proc.read(o.pid, "comm")).isEqualTo(comm + "\n");
            assertThat(Proc.status(o.pid, "Name")).isEqualTo(comm);
            assertThat(Proc.status(o.pid, "NoSuchField")).isNull();
            assertThat(Proc.threads(o.pid)).containsExactly(o.pid);

            List<Integer> children = new ArrayList<>();
            for (int tid : Proc.threads(SELF)) {
                children.addAll(Proc.children(SELF, tid));
            }
            assertThat(children).as("the children of this JVM's threads").contains(o.pid);
        }
    }

    @Test
    void threadsListsTheLeaderFirstThenTheOthersInOrder() {
        int me = (int) Syscall.call("gettid", Linux.__NR_gettid());
        List<Integer> tids = Proc.threads(SELF);
        assertThat(tids.getFirst()).isEqualTo(SELF);
        assertThat(tids).contains(me).doesNotHaveDuplicates();
        assertThat(tids.subList(1, tids.size())).isSorted();
        assertThat(Proc.stat(SELF, me).state()).as("this thread, reading its own stat").isEqualTo('R');
    }
}
