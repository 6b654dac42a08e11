package dev.cryo.dump.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.cryo.dump.DumpException;
import dev.cryo.syscalls.Errno;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * What a pipe or FIFO holds, read without consuming it: a read end of cryo's own through /proc, then
 * tee(2) into a pipe of cryo's, so the task's data stays in its pipe.
 */
final class PipeContents {
    private PipeContents() {}

    static FileTable.PipeData read(OpenFd fd, long pipeId, Arena arena) throws DumpException {
        try (Fd reader = Io.open(fd.procPath().toString(), Kernel.O_RDONLY | Kernel.O_NONBLOCK);
             Io.Pipe copy = Io.pipe(Kernel.O_NONBLOCK)) {
            int capacity = (int) Io.fcntl(reader.fd(), Kernel.F_GETPIPE_SZ, 0);
            Io.fcntl(copy.write().fd(), Kernel.F_SETPIPE_SZ, capacity);
            long n;
            try {
                n = Io.tee(reader.fd(), copy.write().fd(), capacity, Kernel.SPLICE_F_NONBLOCK);
            } catch (ErrnoException e) {
                if (!e.is(Errno.EAGAIN)) {
                    throw e;
                }
                n = 0; // empty pipe
            }
            MemorySegment data = arena.allocate(Math.max(n, 1)).asSlice(0, n);
            long got = 0;
            while (got < n) {
                got += Io.read(copy.read().fd(), data.asSlice(got));
            }
            return new FileTable.PipeData(pipeId, capacity, data);
        } catch (ErrnoException e) {
            throw new DumpException("cannot read the pipe at " + fd.where() + ": " + e.getMessage(), e);
        }
    }
}
