package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.images.proto.EventpollTfdEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.parasite.Scratch;
import dev.cryo.syscalls.EpollEvent;
import dev.cryo.syscalls.Kernel;

/**
 * An epoll instance: epoll_create1 in the task, then, once all its fds are in place, each dumped watch with
 * epoll_ctl(EPOLL_CTL_ADD) on the fd of its number, with its events (EPOLLET, EPOLLONESHOT... included; a
 * one-shot watch that had fired comes back disarmed, with no events) and data. A watched file that is ready
 * is reported again by the next epoll_wait, level- or edge-triggered alike, as after CRIU's restore.
 */
final class EpollRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        return (int) task.in().syscall("epoll_create1", Kernel.__NR_epoll_create1, Kernel.EPOLL_CLOEXEC);
    }

    @Override
    public void finish(TaskFiles task, FileEntry file, int fd) {
        try (Arena a = Arena.ofConfined()) {
            for (EventpollTfdEntry w : file.getEpfd().getTfdList()) {
                MemorySegment ev = new EpollEvent(w.getEvents(), w.getData()).write(a);
                try (Scratch s = task.in().scratch()) {
                    task.in().syscall("epoll_ctl(" + fd + ", ADD, " + w.getTfd() + ")", Kernel.__NR_epoll_ctl, fd,
                            Kernel.EPOLL_CTL_ADD, w.getTfd(), s.put(ev));
                }
            }
        }
    }
}
