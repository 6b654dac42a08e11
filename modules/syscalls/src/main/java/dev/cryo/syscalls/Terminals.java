package dev.cryo.syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import dev.cryo.bindings.Linux;
import dev.cryo.bindings.cryo_termios2;
import dev.cryo.bindings.winsize;

/**
 * Pseudo-terminal state read and set through a master's fd (ioctls on a master that concern the terminal
 * act on its slave): index, lock, packet mode, termios (the kernel's termios2), window size, session and
 * foreground group.
 */
public final class Terminals {
    private Terminals() {}

    /** The kernel's termios2: the four flag words, the line discipline, 19 control characters, the speeds. */
    public record Termios(int iflag, int oflag, int cflag, int lflag, int line, byte[] cc, int ispeed, int ospeed) {}

    public record WinSize(int rows, int cols, int xpixel, int ypixel) {}

    private static int getInt(Fd fd, String what, long request) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            Io.ioctl(what, fd.fd(), request, v.address());
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    private static void setInt(Fd fd, String what, long request, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            Io.ioctl(what, fd.fd(), request, v.address());
        }
    }

    /** The pty's index: N of /dev/pts/N. */
    public static int index(Fd master) {
        return getInt(master, "TIOCGPTN", Linux.TIOCGPTN());
    }

    public static boolean locked(Fd master) {
        return getInt(master, "TIOCGPTLCK", Linux.TIOCGPTLCK()) != 0;
    }

    public static void lock(Fd master, boolean locked) {
        setInt(master, "TIOCSPTLCK", Linux.TIOCSPTLCK(), locked ? 1 : 0);
    }

    public static boolean packetMode(Fd master) {
        return getInt(master, "TIOCGPKT", Linux.TIOCGPKT()) != 0;
    }

    public static void packetMode(Fd master, boolean on) {
        setInt(master, "TIOCPKT", Linux.TIOCPKT(), on ? 1 : 0);
    }

    public static boolean exclusive(Fd fd) {
        return getInt(fd, "TIOCGEXCL", Linux.TIOCGEXCL()) != 0;
    }

    /** The session the terminal controls, or 0 when it is no session's (ENOTTY). */
    public static int session(Fd master) {
        try {
            return getInt(master, "TIOCGSID", Linux.TIOCGSID());
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOTTY)) {
                return 0;
            }
            throw e;
        }
    }

    /** The foreground process group, or 0 when the terminal is no session's. */
    public static int foregroundGroup(Fd master) {
        try {
            int g = getInt(master, "TIOCGPGRP", Linux.TIOCGPGRP());
            return Math.max(g, 0);
        } catch (ErrnoException e) {
            if (e.is(Errno.ENOTTY)) {
                return 0;
            }
            throw e;
        }
    }

    public static Termios termios(Fd fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = cryo_termios2.allocate(a);
            Io.ioctl("TCGETS2", fd.fd(), Linux.CRYO_TCGETS2(), t.address());
            byte[] cc = cryo_termios2.c_cc(t).toArray(ValueLayout.JAVA_BYTE);
            return new Termios(cryo_termios2.c_iflag(t), cryo_termios2.c_oflag(t), cryo_termios2.c_cflag(t),
                    cryo_termios2.c_lflag(t), cryo_termios2.c_line(t) & 0xff, cc, cryo_termios2.c_ispeed(t), cryo_termios2.c_ospeed(t));
        }
    }

    public static void termios(Fd fd, Termios v) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = cryo_termios2.allocate(a);
            cryo_termios2.c_iflag(t, v.iflag());
            cryo_termios2.c_oflag(t, v.oflag());
            cryo_termios2.c_cflag(t, v.cflag());
            cryo_termios2.c_lflag(t, v.lflag());
            cryo_termios2.c_line(t, (byte) v.line());
            MemorySegment cc = cryo_termios2.c_cc(t);
            MemorySegment.copy(v.cc(), 0, cc, ValueLayout.JAVA_BYTE, 0, (int) Math.min(v.cc().length, cc.byteSize()));
            cryo_termios2.c_ispeed(t, v.ispeed());
            cryo_termios2.c_ospeed(t, v.ospeed());
            Io.ioctl("TCSETS2", fd.fd(), Linux.CRYO_TCSETS2(), t.address());
        }
    }

    public static WinSize winSize(Fd fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment w = winsize.allocate(a);
            Io.ioctl("TIOCGWINSZ", fd.fd(), Linux.TIOCGWINSZ(), w.address());
            return new WinSize(Short.toUnsignedInt(winsize.ws_row(w)), Short.toUnsignedInt(winsize.ws_col(w)),
                    Short.toUnsignedInt(winsize.ws_xpixel(w)), Short.toUnsignedInt(winsize.ws_ypixel(w)));
        }
    }

    public static void winSize(Fd fd, WinSize v) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment w = winsize.allocate(a);
            winsize.ws_row(w, (short) v.rows());
            winsize.ws_col(w, (short) v.cols());
            winsize.ws_xpixel(w, (short) v.xpixel());
            winsize.ws_ypixel(w, (short) v.ypixel());
            Io.ioctl("TIOCSWINSZ", fd.fd(), Linux.TIOCSWINSZ(), w.address());
        }
    }
}
