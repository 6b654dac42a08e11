package dev.cryo.lazypages.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * What a restore and its lazy-pages daemon say to each other over the daemon's unix socket (SOCK_SEQPACKET,
 * one message each):
 *
 * <ul>
 * <li>{@code TASK pid} with two descriptors (SCM_RIGHTS): the process's registered userfaultfd and a pidfd of
 *     it; answered with a status: 0, or not 0 and the reason the daemon refuses it, in UTF-8;</li>
 * <li>{@code RELEASED}: the tree runs; no more processes come.</li>
 * </ul>
 *
 * Integers in host byte order. CRIU's lazy-pages socket carries the pid and the uffd alone; cryo's daemon
 * also needs the pidfd, to kill the tree when its page source fails.
 */
public final class Messages {
    /** 'TASK' */
    public static final int TASK = 0x4b534154;
    /** 'RLSD' */
    public static final int RELEASED = 0x44534c52;
    public static final int TASK_SIZE = 8;

    private Messages() {}

    public static MemorySegment task(Arena a, int pid) {
        MemorySegment m = a.allocate(TASK_SIZE, 4);
        m.set(ValueLayout.JAVA_INT, 0, TASK);
        m.set(ValueLayout.JAVA_INT, 4, pid);
        return m;
    }

    public static MemorySegment released(Arena a) {
        MemorySegment m = a.allocate(4, 4);
        m.set(ValueLayout.JAVA_INT, 0, RELEASED);
        return m;
    }

    /** The answer to TASK: 0 and nothing, or 1 and the reason. */
    public static MemorySegment answer(Arena a, String refusal) {
        byte[] text = refusal == null ? new byte[0] : refusal.getBytes(StandardCharsets.UTF_8);
        MemorySegment m = a.allocate(4 + text.length, 4);
        m.set(ValueLayout.JAVA_INT, 0, refusal == null ? 0 : 1);
        MemorySegment.copy(text, 0, m, ValueLayout.JAVA_BYTE, 4, text.length);
        return m;
    }

    /** The refusal an answer carries, or null when it accepts. */
    public static String refusal(MemorySegment answer) {
        if (answer.byteSize() < 4) {
            return "an answer of " + answer.byteSize() + " bytes";
        }
        if (answer.get(ValueLayout.JAVA_INT, 0) == 0) {
            return null;
        }
        return new String(answer.asSlice(4).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    public static int kind(MemorySegment m) {
        return m.byteSize() < 4 ? 0 : m.get(ValueLayout.JAVA_INT, 0);
    }

    public static int pid(MemorySegment m) {
        return m.get(ValueLayout.JAVA_INT, 4);
    }
}
