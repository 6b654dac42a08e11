package dev.cryo.restore.internal.files;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.proto.FileEntry;

/**
 * Re-creates one kind of open file inside a task, as CRIU's file ops do per fd type. The file lands at
 * whatever number the kernel gives it (the lowest free one); {@link TaskFiles} moves it to its dumped number.
 */
interface FileRestorer {
    /** Opens {@code file} inside {@code task} and returns the task's descriptor of the new open file description. */
    int open(TaskFiles task, FileEntry file);

    /**
     * Runs once every fd of the task is in place, for a file this task opened, now at number {@code fd}: for
     * what needs other fds (an epoll's watches).
     */
    default void finish(TaskFiles task, FileEntry file, int fd) {}

    static FileRestorer of(FileEntry f) {
        return switch (f.getType()) {
            case REG -> new RegFileRestorer();
            case PIPE -> new PipeRestorer();
            case FIFO -> new FifoRestorer();
            case EVENTFD -> new EventfdRestorer();
            case EVENTPOLL -> new EpollRestorer();
            case TIMERFD -> new TimerfdRestorer();
            case SIGNALFD -> new SignalfdRestorer();
            case INOTIFY -> new InotifyRestorer();
            case TTY -> new TtyRestorer();
            case UNIXSK -> new UnixSocketRestorer();
            case INETSK -> new InetSocketRestorer();
            case MEMFD -> new MemfdRestorer();
            default -> throw new RestoreError("files.img: file " + f.getId() + " is of type " + f.getType()
                    + ", which cryo cannot restore");
        };
    }
}
