package dev.cryo.restore.internal.files;

import dev.cryo.images.proto.FileEntry;
import dev.cryo.syscalls.Kernel;

/**
 * An eventfd with its counter: eventfd2 in the task. Bit 0 of the dumped flags is cryo's mark for
 * EFD_SEMAPHORE (an eventfd is O_RDWR, so the bit is otherwise never set).
 */
final class EventfdRestorer implements FileRestorer {

    @Override
    public int open(TaskFiles task, FileEntry file) {
        long counter = file.getEfd().getCounter();
        int semaphore = (file.getEfd().getFlags() & Kernel.EFD_SEMAPHORE) != 0 ? Kernel.EFD_SEMAPHORE : 0;
        return (int) task.in().syscall("eventfd2(" + counter + ")", Kernel.__NR_eventfd2, counter, Kernel.O_CLOEXEC | semaphore);
    }
}
