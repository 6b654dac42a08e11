package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.epoll_event;
import dev.cryo.images.proto.EventpollTfdEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.parasite.Scratch;

/**
 * An epoll instance: epoll_create1 in the task, then, once all its fds are in place, each dumped watch with
 * epoll_ctl(EPOLL_CTL_ADD) on the fd of its number, with its events (EPOLLET, EPOLLONESHOT... included; a
 * one-shot watch that had fired comes back disarmed, with no events) and data. A watched file that is ready
 * is reported again by the next epoll_wait, level- or edge-triggered alike, as after CRIU's restore.
 */
final class EpollRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        return (int) task.in().syscall("epoll_create1", Linux.__NR_epoll_create1(), Linux.EPOLL_CLOEXEC());
    }

    @Override
    public void finish(TaskFiles task, FileEntry file, int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ev = epoll_event.allocate(a);
            for (EventpollTfdEntry w : file.getEpfd().getTfdList()) {
                epoll_event.events(ev, w.getEvents());
                // struct epoll_event is packed on x86-64: its u64 data sits at offset 4
                ev.set(ValueLayout.JAVA_LONG_UNALIGNED, epoll_event.data$offset(), w.getData());
                try (Scratch s = task.in().scratch()) {
                    task.in().syscall("epoll_ctl(" + fd + ", ADD, " + w.getTfd() + ")", Linux.__NR_epoll_ctl(), fd,
                            Linux.EPOLL_CTL_ADD(), w.getTfd(), s.put(ev));
                }
            }
        }
    }
}
