package dev.cryo.syscalls;

/** kcmp(2): whether two processes share a kernel object, here an open file description. */
public final class Kcmp {
    /** x86-64 syscall number and KCMP_FILE (linux/kcmp.h): not in bindings' header list. */
    private static final int NR_KCMP = 312;
    private static final int KCMP_FILE = 0;

    private Kcmp() {}

    /** True when fd {@code fd1} of {@code pid1} and fd {@code fd2} of {@code pid2} are one open file description. */
    public static boolean sameFile(int pid1, int fd1, int pid2, int fd2) {
        return Syscall.call("kcmp(" + pid1 + ", " + pid2 + ", KCMP_FILE, " + fd1 + ", " + fd2 + ")",
                NR_KCMP, pid1, pid2, KCMP_FILE, fd1, fd2) == 0;
    }
}
