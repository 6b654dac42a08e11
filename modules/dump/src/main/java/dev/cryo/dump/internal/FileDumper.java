package dev.cryo.dump.internal;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FileEntry;

/**
 * Dumps one kind of open file into its files.img entry (and what it holds into the data images), as CRIU's
 * file ops do per fd type. {@link FdCollector} picks the dumper from the fd's /proc link.
 */
interface FileDumper {
    /** Fills {@code entry} (id set already) for fd {@code fd.fd()} of {@code fd.pid()}. */
    void dump(OpenFd fd, FileEntry.Builder entry, FileTable files) throws DumpException;
}
