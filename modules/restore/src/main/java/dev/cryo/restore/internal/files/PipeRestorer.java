package dev.cryo.restore.internal.files;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.parasite.Scratch;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.PipeEntry;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * One end of a pipe. The first end restored creates the pipe (pipe2 in the task), and cryo keeps both ends
 * (pidfd_getfd) so that it refills the data from its own write end and can hand the other end to any task
 * of the tree that has it: a pipe shared by several tasks stays one pipe.
 */
final class PipeRestorer implements FileRestorer {
    @Override
    public int open(TaskFiles task, FileEntry file) {
        PipeEntry pipe = file.getPipe();
        long pipeId = Integer.toUnsignedLong(pipe.getPipeId());
        boolean reader = (pipe.getFlags() & Kernel.O_ACCMODE) == Kernel.O_RDONLY;
        Fd[] ends = task.files().pipe(pipeId);
        int fd;
        if (ends == null) {
            int[] both = pipe2(task);
            Fd read = task.pull(both[0]);
            Fd write = task.pull(both[1]);
            task.files().rememberPipe(pipeId, read, write);
            refill(task.files(), pipeId, write);
            task.in().closeFd(reader ? both[1] : both[0]);
            fd = reader ? both[0] : both[1];
        } else {
            fd = task.push(reader ? ends[0] : ends[1]);
        }
        return fd;
    }

    private static int[] pipe2(TaskFiles task) {
        try (Arena a = Arena.ofConfined(); Scratch s = task.in().scratch()) {
            long at = s.reserve(8);
            task.in().syscall("pipe2", Kernel.__NR_pipe2, at, Kernel.O_CLOEXEC);
            MemorySegment fds = a.allocate(8);
            s.read(at, fds);
            return new int[] {fds.get(ValueLayout.JAVA_INT, 0), fds.get(ValueLayout.JAVA_INT, 4)};
        }
    }

    private static void refill(FileSet files, long pipeId, Fd write) {
        int size = files.pipeSize(pipeId);
        if (size > 0) {
            Io.fcntl(write.fd(), Kernel.F_SETPIPE_SZ, size);
        }
        MemorySegment data = files.pipeData(pipeId);
        if (data != null && data.byteSize() > 0) {
            Io.writeFully(write.fd(), data);
        }
    }
}
