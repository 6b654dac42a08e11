package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

import dev.cryo.bindings.Linux;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Memfd;

/**
 * The puppet executable: a static x86-64 ELF that cryo writes itself, so that restore needs no compiler
 * and no helper binary on the machine. It lives in a memfd of cryo's, so nothing of it is left in any
 * directory, however cryo ends.
 *
 * <p>Its first process (the keeper) dies with the cryo thread that started it (PR_SET_PDEATHSIG, SIGKILL;
 * it exits at once if cryo is gone before that), makes itself a child subreaper, forks the puppet, then
 * reaps every child until it has none and exits: the JVM's process reaper only ever waits for the keeper,
 * never for a puppet, so no ptrace stop is stolen, and tasks restored below the keeper are reaped when
 * they exit (pid 1 here does not reap orphans). The puppet dies with the keeper likewise, calls setsid(),
 * writes its pid (4 bytes, little-endian) to stdout and sleeps in pause() until cryo seizes it (with
 * PTRACE_O_EXITKILL: from then on it dies with cryo).
 */
final class PuppetStub {
    /** Where the stub's one PT_LOAD lies; far below where executables, libraries and stacks go. */
    static final long BASE = 0x10000;
    private static final int HEADERS = 64 + 2 * 56;

    /*
     * _start: prctl(PR_SET_PDEATHSIG, SIGKILL); if (getppid() != CRYO) goto gone;
     *         prctl(PR_SET_CHILD_SUBREAPER, 1); keeper = getpid(); if (fork() == 0) goto puppet;
     * reap:   while (wait4(-1, NULL, __WALL, NULL) != -ECHILD) ;
     * gone:   exit(0);
     * puppet: prctl(PR_SET_PDEATHSIG, SIGKILL); if (getppid() != keeper) goto gone;
     *         setsid(); pid = getpid(); write(1, &pid, 4); for (;;) pause();
     * boot:   syscall; int3        -- the first injected call (it maps the trampoline) runs here
     */
    private static final String CODE =
            "b89d000000" + "bf01000000" + "be09000000" + "0f05"       // prctl(PR_SET_PDEATHSIG, SIGKILL)
            + "b86e000000" + "0f05"                                   // getppid
            + "3d44332211" + "7542"                                   // cmp eax, CRYO; jne gone
            + "b89d000000" + "bf24000000" + "be01000000" + "0f05"     // prctl(PR_SET_CHILD_SUBREAPER, 1)
            + "b827000000" + "0f05" + "89c3"                          // ebx = getpid()
            + "b839000000" + "0f05"                                   // fork
            + "4885c0" + "7425"                                       // test rax,rax; jz puppet
            + "b83d000000" + "bfffffffff" + "31f6" + "ba00000040"     // reap: wait4(-1, 0, __WALL,
            + "4531d2" + "0f05"                                       //   0)
            + "4883f8f6" + "75e4"                                     // cmp rax,-ECHILD; jne reap
            + "b83c000000" + "31ff" + "0f05"                          // gone: exit(0)
            + "b89d000000" + "bf01000000" + "be09000000" + "0f05"     // puppet: prctl(PR_SET_PDEATHSIG, SIGKILL)
            + "b86e000000" + "0f05"                                   // getppid
            + "39d8" + "75db"                                         // cmp eax, ebx; jne gone
            + "b870000000" + "0f05"                                   // setsid
            + "b827000000" + "0f05" + "50"                            // getpid; push rax
            + "b801000000" + "bf01000000" + "4889e6" + "ba04000000" + "0f05" // write(1, rsp, 4)
            + "b822000000" + "0f05" + "ebf7"                          // pause; jmp pause
            + "0f05cc";                                               // boot: syscall; int3

    /** Offset in the code of the keeper's expected parent, cryo's pid (the 0x11223344 above). */
    private static final int CRYO_PID_AT = 0x19;

    /** Address of the keeper's reap loop: what a pid namespace's init runs. */
    static final long REAP = BASE + HEADERS + 0x45;

    /** Address of the stub's {@code syscall; int3}. */
    static final long BOOT = BASE + HEADERS + CODE.length() / 2 - 3;

    private static Fd memfd;

    private PuppetStub() {}

    /** The executable for the JVM with pid {@code cryo}. */
    static byte[] image(int cryo) {
        byte[] code = HexFormat.of().parseHex(CODE);
        ByteBuffer.wrap(code, CRYO_PID_AT, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(cryo);
        int size = HEADERS + code.length;
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        b.putShort((short) 2).putShort((short) 0x3e).putInt(1);      // ET_EXEC, EM_X86_64, EV_CURRENT
        b.putLong(BASE + HEADERS).putLong(64).putLong(0);          // entry, phoff, shoff
        b.putInt(0).putShort((short) 64).putShort((short) 56).putShort((short) 2); // flags, ehsize, phentsize, phnum
        b.putShort((short) 0).putShort((short) 0).putShort((short) 0);
        // PT_LOAD r-x: the whole file at BASE
        b.putInt(1).putInt(5).putLong(0).putLong(BASE).putLong(BASE).putLong(size).putLong(size).putLong(0x1000);
        // PT_GNU_STACK rw-: no executable stack, no READ_IMPLIES_EXEC
        b.putInt(0x6474e551).putInt(6).putLong(0).putLong(0).putLong(0).putLong(0).putLong(0).putLong(16);
        b.put(code);
        return b.array();
    }

    /**
     * A path that executes the stub: a memfd of this JVM's (close-on-exec, gone with it), written once,
     * named through /proc so that the process the JVM spawns opens it from the JVM's fd table.
     */
    static synchronized String path() {
        int self = (int) ProcessHandle.current().pid();
        if (memfd == null) {
            Fd fd = Memfd.create("cryo-puppet", Linux.MFD_CLOEXEC());
            try (Arena a = Arena.ofConfined()) {
                byte[] image = image(self);
                MemorySegment bytes = a.allocate(image.length);
                bytes.copyFrom(MemorySegment.ofArray(image));
                Memfd.pwriteFully(fd, bytes, 0);
            }
            memfd = fd;
        }
        return "/proc/" + self + "/fd/" + memfd.fd();
    }
}
