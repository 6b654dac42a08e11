package dev.cryo.restore.internal.files;

import dev.cryo.bindings.Linux;
import dev.cryo.images.proto.FileEntry;

/** An eventfd with its counter: eventfd2 in the task. */
final class EventfdRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        long counter = file.getEfd().getCounter();
        return (int) task.in().syscall("eventfd2(" + counter + ")", Linux.__NR_eventfd2(), counter, Linux.O_CLOEXEC());
    }
}
