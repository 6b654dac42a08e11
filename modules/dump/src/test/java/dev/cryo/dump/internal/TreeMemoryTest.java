package dev.cryo.dump.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Mapping;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Syscall;

/** A lazy dump's reads of a process's memory: process_vm_readv, and /proc/PID/mem for the pages it refuses. */
class TreeMemoryTest {
    private static final int PAGES = 5;

    @Test
    void aRangeWithAProtNonePageInItReadsEveryPagesOwnBytes() {
        int self = (int) ProcessHandle.current().pid();
        try (Mapping m = Mapping.anonymous(PAGES * Page.SIZE); Arena arena = Arena.ofConfined();
                TreeMemory memory = new TreeMemory()) {
            for (int p = 0; p < PAGES; p++) {
                m.segment().asSlice(p * Page.SIZE, Page.SIZE).fill((byte) (0x31 + p));
            }
            // the second and fourth pages lose every permission: process_vm_readv refuses them, /proc/PID/mem does not
            Syscall.call("mprotect", Kernel.__NR_mprotect, m.address() + Page.SIZE, Page.SIZE, 0);
            Syscall.call("mprotect", Kernel.__NR_mprotect, m.address() + 3 * Page.SIZE, Page.SIZE, 0);
            MemorySegment into = arena.allocate(PAGES * Page.SIZE, Page.SIZE);

            memory.read(self, m.address(), into);

            for (int p = 0; p < PAGES; p++) {
                byte want = (byte) (0x31 + p);
                MemorySegment page = into.asSlice(p * Page.SIZE, Page.SIZE);
                assertThat(page.mismatch(arena.allocate(Page.SIZE).fill(want))).as("first wrong byte of page %d", p).isEqualTo(-1L);
            }
            assertThat(memory.forcedPages()).as("pages process_vm_readv refused, read through /proc/PID/mem").isEqualTo(2);
        }
    }
}
