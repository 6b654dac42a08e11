package dev.cryo.dump.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;


import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.TermiosEntry;
import dev.cryo.images.proto.TtyFileEntry;
import dev.cryo.images.proto.TtyInfoEntry;
import dev.cryo.images.proto.TtyPtyEntry;
import dev.cryo.images.proto.TtyType;
import dev.cryo.images.proto.WinsizeEntry;
import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Pidfd;
import dev.cryo.syscalls.Terminals;

/**
 * One end of a pseudo-terminal whose master is in the tree (as a terminal multiplexer holds it): a tty file
 * entry naming a tty-info.img entry per end, with the index, and, read through the master (whose ioctls act on
 * the slave), the lock, packet mode, termios, window size, session and foreground group. A slave whose master
 * is outside the tree stays a file opened by path (a shell job's terminal).
 */
record PtyDumper(boolean master, int index) implements FileDumper {
    /** /dev/ptmx, or the ptmx of a devpts mount: opening it makes a new pty pair. */
    static boolean isMaster(String link) {
        return link.equals("/dev/ptmx") || link.endsWith("/pts/ptmx");
    }

    /** The index N of {@code /dev/pts/N}, or -1. */
    static int slaveIndex(String link) {
        if (!link.startsWith("/dev/pts/")) {
            return -1;
        }
        String n = link.substring("/dev/pts/".length());
        return n.matches("\\d+") ? Integer.parseInt(n) : -1;
    }

    /** The indices of the ptys whose master some process of the tree holds (fdinfo's tty-index). */
    static Set<Integer> mastersIn(Iterable<Integer> pids) throws DumpException {
        Set<Integer> out = new HashSet<>();
        for (int pid : pids) {
            try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
                for (Path p : fds.toList()) {
                    String link;
                    try {
                        link = Files.readSymbolicLink(p).toString();
                    } catch (IOException gone) {
                        continue;
                    }
                    if (isMaster(link)) {
                        String info = Files.readString(Path.of("/proc/" + pid + "/fdinfo/" + p.getFileName()));
                        for (String line : info.split("\n")) {
                            if (line.startsWith("tty-index:")) {
                                out.add(Integer.parseInt(line.substring(10).trim()));
                            }
                        }
                    }
                }
            } catch (IOException e) {
                throw new DumpException("cannot list the descriptors of pid " + pid + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** The master's tty-index from fdinfo. */
    static int masterIndex(OpenFd fd) throws DumpException {
        String v = fd.field("tty-index");
        if (v == null) {
            throw new DumpException("cannot dump " + fd.where() + ": its fdinfo has no tty-index for the pty master");
        }
        return Integer.parseInt(v);
    }

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        int infoId = files.ttyInfoId(index, master);
        if (!files.hasTtyInfo(infoId)) {
            files.addTtyInfo(info(fd, infoId));
        }
        e.setType(FdTypes.TTY).setTty(TtyFileEntry.newBuilder().setId(e.getId()).setTtyInfoId(infoId)
                .setFlags(fd.flags()).setFown(FileTable.NO_OWNER));
    }

    private TtyInfoEntry info(OpenFd fd, int infoId) throws DumpException {
        try (Fd dup = Pidfd.getFd(fd.pidfd(), fd.fd())) {
            long rdev = (long) Files.getAttribute(fd.procPath(), "unix:rdev");
            Terminals.Termios t = Terminals.termios(dup);
            Terminals.WinSize w = Terminals.winSize(dup);
            TermiosEntry.Builder termios = TermiosEntry.newBuilder().setCIflag(t.iflag()).setCOflag(t.oflag())
                    .setCCflag(t.cflag()).setCLflag(t.lflag()).setCLine(t.line()).setCIspeed(t.ispeed()).setCOspeed(t.ospeed());
            for (byte c : t.cc()) {
                termios.addCCc(c & 0xff);
            }
            TtyInfoEntry.Builder b = TtyInfoEntry.newBuilder().setId(infoId).setType(TtyType.PTY)
                    .setRdev((int) rdev).setTermios(termios)
                    .setWinsize(WinsizeEntry.newBuilder().setWsRow(w.rows()).setWsCol(w.cols()).setWsXpixel(w.xpixel()).setWsYpixel(w.ypixel()))
                    .setPty(TtyPtyEntry.newBuilder().setIndex(index));
            if (master) {
                // the terminal's own state, asked of the master: a slave's ioctls would need cryo to be in its session
                b.setLocked(Terminals.locked(dup)).setPacketMode(Terminals.packetMode(dup)).setExclusive(Terminals.exclusive(dup))
                        .setSid(Terminals.session(dup)).setPgrp(Terminals.foregroundGroup(dup));
            } else {
                b.setLocked(false).setPacketMode(false).setExclusive(false).setSid(0).setPgrp(0);
            }
            return b.build();
        } catch (ErrnoException | IOException x) {
            throw new DumpException("cannot read pty " + index + " at " + fd.where() + ": " + x.getMessage(), x);
        }
    }

}
