package dev.cryo.dump.internal;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.SignalfdEntry;

/** A signalfd: the signals it takes (fdinfo's {@code sigmask}); the signals themselves are the task's pending ones. */
final class SignalfdDumper implements FileDumper {
    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        String mask = fd.field("sigmask");
        if (mask == null) {
            throw new DumpException("cannot dump " + fd.where() + ": its fdinfo has no sigmask");
        }
        e.setType(FdTypes.SIGNALFD).setSgfd(SignalfdEntry.newBuilder().setId(e.getId()).setFlags(fd.flags())
                .setFown(FileTable.NO_OWNER).setSigmask(Long.parseUnsignedLong(mask, 16)));
    }
}
