package dev.cryo.restore.internal.files;

import dev.cryo.images.proto.FileEntry;

/**
 * Re-creates one kind of open file inside a task, as CRIU's file ops do per fd type. The file lands at
 * whatever number the kernel gives it (the lowest free one); {@link TaskFiles} moves it to its dumped number.
 */
interface FileRestorer {
    /** Opens {@code file} inside {@code task} and returns the task's descriptor of the new open file description. */
    int open(TaskFiles task, FileEntry file);

    static FileRestorer of(FileEntry f) {
        return switch (f.getType()) {
            case REG -> new RegFileRestorer();
            case PIPE -> new PipeRestorer();
            case FIFO -> new FifoRestorer();
            case EVENTFD -> new EventfdRestorer();
            case UNIXSK -> new UnixSocketRestorer();
            case INETSK -> new InetSocketRestorer();
            case MEMFD -> new MemfdRestorer();
            default -> throw new IllegalStateException("files.img: file " + f.getId() + " is of type " + f.getType()
                    + ", which cryo cannot restore");
        };
    }
}
