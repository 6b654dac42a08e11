package dev.cryo.pagepipe;

import java.lang.foreign.MemorySegment;

/**
 * System calls run inside a stopped task, with scratch memory of its own for their arguments: what splice
 * mode needs of a parasite (dev.cryo.parasite.Parasite provides it), without pagepipe depending on it.
 */
public interface TaskCalls {
    int pid();

    /** Runs system call {@code nr} in the task; throws with the errno on failure. */
    long syscall(String name, long nr, long... args);

    /** Address in the task of scratch memory, and its size. */
    long scratch();

    long scratchSize();

    void writeScratch(long offset, MemorySegment data);

    void readScratch(long offset, MemorySegment into);
}
