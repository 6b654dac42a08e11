package dev.cryo.dump.internal;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.EventfdFileEntry;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;

/** An eventfd: its counter from fdinfo's {@code eventfd-count} (hex). */
final class EventfdDumper implements FileDumper {
    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        String count = fd.field("eventfd-count");
        if (count == null) {
            throw new DumpException("cannot dump " + fd.where() + ": its fdinfo has no eventfd-count");
        }
        e.setType(FdTypes.EVENTFD).setEfd(EventfdFileEntry.newBuilder().setId(e.getId()).setFlags(fd.flags())
                .setFown(FileTable.NO_OWNER).setCounter(Long.parseUnsignedLong(count, 16)));
    }
}
