package dev.cryo.dump.internal;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.EventfdFileEntry;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;

/**
 * An eventfd: its counter from fdinfo's {@code eventfd-count} (hex). EFD_SEMAPHORE (fdinfo's
 * {@code eventfd-semaphore}, Linux 6.6+) has no field in CRIU's entry: it goes into flags as bit 0, which
 * an eventfd's flags never hold otherwise (it is always O_RDWR, 2; bit 0 is O_WRONLY).
 */
final class EventfdDumper implements FileDumper {
    static final int SEMAPHORE = 1;

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        String count = fd.field("eventfd-count");
        if (count == null) {
            throw new DumpException("cannot dump " + fd.where() + ": its fdinfo has no eventfd-count");
        }
        boolean semaphore = "1".equals(fd.field("eventfd-semaphore"));
        e.setType(FdTypes.EVENTFD).setEfd(EventfdFileEntry.newBuilder().setId(e.getId()).setFlags(fd.flags() | (semaphore ? SEMAPHORE : 0))
                .setFown(FileTable.NO_OWNER).setCounter(Long.parseUnsignedLong(count, 16)));
    }
}
