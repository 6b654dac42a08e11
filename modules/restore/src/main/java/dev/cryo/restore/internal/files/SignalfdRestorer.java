package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.images.proto.FileEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.Kernel;

/** A signalfd taking the dumped signals: signalfd4 in the task (the kernel's sigset is one u64 here). */
final class SignalfdRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        try (Arena a = Arena.ofConfined(); Scratch s = task.in().scratch()) {
            MemorySegment mask = a.allocate(ValueLayout.JAVA_LONG);
            mask.set(ValueLayout.JAVA_LONG, 0, file.getSgfd().getSigmask());
            return (int) task.in().syscall("signalfd4(0x" + Long.toHexString(file.getSgfd().getSigmask()) + ")",
                    Kernel.__NR_signalfd4, -1, s.put(mask), 8, Kernel.SFD_CLOEXEC);
        }
    }
}
