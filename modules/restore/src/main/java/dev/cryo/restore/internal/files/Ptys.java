package dev.cryo.restore.internal.files;

import java.util.ArrayList;
import java.util.List;

import dev.cryo.restore.internal.RestoreError;
import dev.cryo.images.proto.TermiosEntry;
import dev.cryo.images.proto.TtyInfoEntry;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Terminals;

/**
 * The tree's pseudo-terminals. cryo makes each master itself, at its dumped index: /dev/ptmx hands out the
 * lowest free index, so it is opened until that index comes (the others are closed again); an index another
 * terminal holds cannot be had, and says so. The master stays unlocked while the tasks open their slaves by
 * path; once every task has its fds ({@link #settle}) it gets its termios, window size, packet mode and lock.
 */
final class Ptys {
    /** Indices are handed out from 0 up: more opens than this and the wanted one is not coming. */
    private static final int MAX_OPENS = 4096;

    private Ptys() {}

    static Fd open(int index) {
        List<Fd> others = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_OPENS; i++) {
                Fd m = Io.open("/dev/ptmx", Kernel.O_RDWR | Kernel.O_NOCTTY);
                int got = Terminals.index(m);
                if (got == index) {
                    Terminals.lock(m, false);
                    return m;
                }
                others.add(m);
                if (got > index) {
                    break;
                }
            }
            throw new RestoreError("pty " + index + " (/dev/pts/" + index + ") is taken by another terminal;"
                    + " the restored tree needs that index");
        } finally {
            others.forEach(Fd::close);
        }
    }

    /** The terminals' own state, set through cryo's masters once every slave is open. */
    static void settle(FileSet files) {
        for (TtyInfoEntry t : files.ptyMasterInfos()) {
            Fd m = files.ptyMasters().get(t.getPty().getIndex());
            if (m == null) {
                continue;
            }
            if (t.hasTermios()) {
                TermiosEntry e = t.getTermios();
                byte[] cc = new byte[e.getCCcCount()];
                for (int i = 0; i < cc.length; i++) {
                    cc[i] = (byte) e.getCCc(i);
                }
                Terminals.termios(m, new Terminals.Termios(e.getCIflag(), e.getCOflag(), e.getCCflag(), e.getCLflag(),
                        e.getCLine(), cc, e.getCIspeed(), e.getCOspeed()));
            }
            if (t.hasWinsize()) {
                Terminals.winSize(m, new Terminals.WinSize(t.getWinsize().getWsRow(), t.getWinsize().getWsCol(),
                        t.getWinsize().getWsXpixel(), t.getWinsize().getWsYpixel()));
            }
            Terminals.packetMode(m, t.getPacketMode());
            Terminals.lock(m, t.getLocked());
        }
    }

    /** The master info of the pty that controls session {@code sid}, or null. */
    static TtyInfoEntry controlling(FileSet files, int sid) {
        return files.ptyMasterInfos().stream().filter(t -> t.getSid() == sid).findFirst().orElse(null);
    }

}
