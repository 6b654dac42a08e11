package dev.cryo.dump.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Syscall;

/** Mappings read before a freeze ({@code DumpOptions.mappingsAhead}): kept when maps still lists them, read again when not. */
class VmaAheadTest {

    @Test
    void theMappingsOfAProcessThatDidNotChangeAreTheOnesReadAhead() throws Exception {
        Process sleeper = new ProcessBuilder("sleep", "60").start();
        try {
            int pid = Math.toIntExact(sleeper.pid());
            new ProcessBuilder("kill", "-STOP", Integer.toString(pid)).start().waitFor(); // stopped: its maps cannot change
            Vma.Ahead ahead = Vma.readAhead(pid);

            List<Vma> frozen = Vma.read(pid, ahead);

            assertThat(frozen).as("the mappings read ahead, kept").isSameAs(ahead.vmas());
        } finally {
            sleeper.destroyForcibly();
            sleeper.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aMappingMadeAfterTheReadAheadIsFoundByTheReadOnceFrozen() {
        int self = Math.toIntExact(ProcessHandle.current().pid());
        Vma.Ahead ahead = Vma.readAhead(self);
        try (Mapping m = Mapping.map(0, 3 * Page.SIZE, Kernel.PROT_READ | Kernel.PROT_EXEC,
                Kernel.MAP_PRIVATE | Kernel.MAP_ANONYMOUS, -1, 0)) {

            List<Vma> frozen = Vma.read(self, ahead);

            assertThat(frozen).as("mappings read again, with the one made since")
                    .anyMatch(v -> v.start() == m.address() && v.end() == m.address() + 3 * Page.SIZE);
        }
    }

    @Test
    void aWholeMappingLockedAfterTheReadAheadIsReadLockedOnceFrozen() {
        int self = Math.toIntExact(ProcessHandle.current().pid());
        try (Mapping m = Mapping.map(0, 2 * Page.SIZE, Kernel.PROT_READ, Kernel.MAP_PRIVATE | Kernel.MAP_ANONYMOUS, -1, 0)) {
            Vma.Ahead ahead = Vma.readAhead(self);
            // mlock() of the whole mapping changes its VmFlags, not its line in maps: VmLck of the status tells
            Syscall.call("mlock", Kernel.__NR_mlock, m.address(), 2 * Page.SIZE);

            List<Vma> frozen = Vma.read(self, ahead);

            assertThat(frozen).as("the mapping, read again locked")
                    .anyMatch(v -> v.start() == m.address() && (v.flags() & Kernel.MAP_LOCKED) != 0);
        }
    }
}
