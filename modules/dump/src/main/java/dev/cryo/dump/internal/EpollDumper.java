package dev.cryo.dump.internal;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.EventpollFileEntry;
import dev.cryo.images.proto.EventpollTfdEntry;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.syscalls.Kcmp;

/**
 * An epoll instance: every watch from fdinfo's {@code tfd:} lines (the fd number it was added with, its events
 * with EPOLLET/EPOLLONESHOT..., its data), restored with epoll_ctl once the task's fds are all in place. A watch
 * is restored through the fd of that number, so that fd must still be the watched file (kcmp KCMP_EPOLL_TFD):
 * a watch whose fd was closed or replaced since (the file lives on elsewhere) is refused, as is a file watched
 * twice under one number (dup and close games). A watched epoll is restored like any other fd.
 */
final class EpollDumper implements FileDumper {
    /** {@code tfd:        3 events: 80000019 data: 1122334455667788  pos:0 ino:134c35 sdev:f} */
    private static final Pattern TFD = Pattern.compile(
            "tfd:\\s*(\\d+) events:\\s*([0-9a-f]+) data:\\s*([0-9a-f]+)\\s+pos:(\\d+) ino:([0-9a-f]+) sdev:([0-9a-f]+)");

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        EventpollFileEntry.Builder ep = EventpollFileEntry.newBuilder().setId(e.getId()).setFlags(fd.flags()).setFown(FileTable.NO_OWNER);
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (String line : fd.fdinfo().split("\n")) {
            if (!line.startsWith("tfd:")) {
                continue;
            }
            Matcher m = TFD.matcher(line);
            if (!m.find()) {
                throw new DumpException("cannot dump " + fd.where() + ": its fdinfo has an epoll line cryo cannot read: " + line);
            }
            int tfd = Integer.parseInt(m.group(1));
            if (!seen.add(tfd)) {
                throw new DumpException("cannot dump " + fd.where() + ": its epoll watches two files under fd " + tfd
                        + " (one was closed and the number reused), which cryo cannot restore");
            }
            if (!Kcmp.watchedBy(fd.pid(), fd.fd(), tfd)) {
                throw new DumpException("cannot dump " + fd.where() + ": its epoll watches a file as fd " + tfd
                        + ", which the task has closed or replaced since; cryo cannot restore that watch");
            }
            ep.addTfd(EventpollTfdEntry.newBuilder().setId(e.getId()).setTfd(tfd)
                    .setEvents((int) Long.parseLong(m.group(2), 16)).setData(Long.parseUnsignedLong(m.group(3), 16))
                    .setPos(Long.parseLong(m.group(4))).setInode(Long.parseLong(m.group(5), 16))
                    .setDev((int) Long.parseLong(m.group(6), 16)));
        }
        e.setType(FdTypes.EVENTPOLL).setEpfd(ep);
    }
}
