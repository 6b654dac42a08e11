package dev.cryo.restore.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Memfd;

/**
 * The puppet executable: a static x86-64 ELF that cryo writes itself, so that restore needs no compiler
 * and no helper binary on the machine. It lives in a memfd of cryo's, so nothing of it is left in any
 * directory, however cryo ends.
 *
 * <p>Its first process (the keeper) makes itself a child subreaper, forks the puppet, then reaps every child
 * until it has none and exits: the JVM's process reaper only ever waits for the keeper,
 * never for a puppet, so no ptrace stop is stolen, and tasks restored below the keeper are reaped when
 * they exit (pid 1 here does not reap orphans). The keeper outlives the cryo thread that started it only to
 * clean up: that thread's death sends it SIGUSR2 (PR_SET_PDEATHSIG; it exits at once if cryo is gone
 * before it is set), and unless cryo has {@link Keeper#commit committed} the restore, it kills every process
 * cryo {@link Keeper#register registered} with it (in its data segment) before it exits: a killed restore,
 * even one killed while it released the tree, leaves no process. The puppet dies with the keeper, calls setsid(),
 * writes its pid (4 bytes, little-endian) to stdout and sleeps in pause() until cryo seizes it (with
 * PTRACE_O_EXITKILL: from then on it dies with cryo).
 */
final class PuppetStub {
    /** Where the stub's code lies (its data a page above); far below where executables, libraries and stacks go. */
    static final long BASE = 0x10000;
    private static final int HEADERS = 64 + 3 * 56;

    /*
     * _start: prctl(PR_SET_PDEATHSIG, SIGKILL); if (getppid() != CRYO) goto gone;
     *         prctl(PR_SET_CHILD_SUBREAPER, 1); keeper = getpid(); if (fork() == 0) goto puppet;
     *         rt_sigaction(SIGUSR2, abort); prctl(PR_SET_PDEATHSIG, SIGUSR2);
     * reap:   while (wait4(-1, NULL, __WALL, NULL) != -ECHILD) ;
     * gone:   exit(0);
     * abort:  if (!DATA.committed) for (i = 0; i < DATA.count; i++) kill(DATA.pids[i], SIGKILL); exit(0);
     * puppet: prctl(PR_SET_PDEATHSIG, SIGKILL); if (getppid() != keeper) goto gone;
     *         setsid(); pid = getpid(); write(1, &pid, 4); for (;;) pause();
     * boot:   syscall; int3        -- the first injected call (it maps the trampoline) runs here
     */
    private static final String CODE =
            "b89d000000bf01000000be090000000f05"                          // prctl(PR_SET_PDEATHSIG, SIGKILL)
            + "b86e0000000f05"                                            // getppid
            + "3d443322110f859b000000"                                    // cmp eax, CRYO; jne gone
            + "b89d000000bf24000000be010000000f05"                        // prctl(PR_SET_CHILD_SUBREAPER, 1)
            + "b8270000000f0589c3"                                        // ebx = getpid()
            + "b8390000000f05"                                            // fork
            + "4885c00f84aa000000"                                        // test rax,rax; jz puppet
            + "4883ec20" + "488d056f000000" + "48890424"                  // keeper: rsp -= 32; sa.handler = abort
            + "48c744240800000004"                                        //   sa.flags = SA_RESTORER
            + "488d0552000000" + "4889442410" + "48c744241800000000"      //   sa.restorer = gone; sa.mask = 0
            + "b80d000000bf0c0000004889e631d241ba080000000f05"            // rt_sigaction(SIGUSR2, &sa, NULL, 8)
            + "b89d000000bf01000000be0c0000000f05"                        // prctl(PR_SET_PDEATHSIG, SIGUSR2)
            + "b83d000000bfffffffff31f6ba000000404531d20f05"              // reap: wait4(-1, NULL, __WALL, NULL)
            + "4883f8f675e4"                                              // cmp rax,-ECHILD; jne reap
            + "b83c00000031ff0f05"                                        // gone: exit(0)
            + "833c25001001000075ed"                                      // abort: cmp DATA.committed, 0; jne gone
            + "4531e4"                                                    // i = 0
            + "443b24250410010073e0"                                      // next: cmp DATA.count, i; jae gone
            + "b83e000000428b3ca508100100be090000000f05"                  // kill(DATA.pids[i], SIGKILL)
            + "41ffc4ebdd"                                                // i++; jmp next
            + "b89d000000bf01000000be090000000f05"                        // puppet: prctl(PR_SET_PDEATHSIG, SIGKILL)
            + "b86e0000000f05"                                            // getppid
            + "39d875ab"                                                  // cmp eax, ebx (the keeper); jne gone
            + "b8700000000f05"                                            // setsid
            + "b8270000000f0550"                                          // getpid; push rax
            + "b801000000bf010000004889e6ba040000000f05"                  // write(1, rsp, 4)
            + "b8220000000f05ebf7"                                        // pause: pause; jmp pause
            + "0f05cc";                                                   // boot: syscall; int3

    /** Offset in the code of the keeper's expected parent, cryo's pid (the 0x11223344 above). */
    private static final int CRYO_PID_AT = 0x19;

    /**
     * The keeper's data, a zero-filled read-write segment: {@code u32 committed; u32 count; u32 pids[]} (the
     * code above addresses it as 0x11000, 0x11004, 0x11008).
     */
    static final long DATA = BASE + 0x1000;
    static final long DATA_SIZE = 0x10000;
    static final long COMMITTED = DATA;
    static final long COUNT = DATA + 4;
    static final long PIDS = DATA + 8;
    /** How many processes the keeper can kill for a restore that cryo did not finish. */
    static final int MAX_PIDS = (int) ((DATA_SIZE - 8) / 4);

    /** Address of the keeper's reap loop: what a pid namespace's init runs. */
    static final long REAP = BASE + HEADERS + 0xa2;

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
        b.putInt(0).putShort((short) 64).putShort((short) 56).putShort((short) 3); // flags, ehsize, phentsize, phnum
        b.putShort((short) 0).putShort((short) 0).putShort((short) 0);
        // PT_LOAD r-x: the whole file at BASE
        b.putInt(1).putInt(5).putLong(0).putLong(BASE).putLong(BASE).putLong(size).putLong(size).putLong(0x1000);
        // PT_LOAD rw-: the keeper's data, nothing of it in the file
        b.putInt(1).putInt(6).putLong(0).putLong(DATA).putLong(DATA).putLong(0).putLong(DATA_SIZE).putLong(0x1000);
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
            Fd fd = Memfd.create("cryo-puppet", Kernel.MFD_CLOEXEC);
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
