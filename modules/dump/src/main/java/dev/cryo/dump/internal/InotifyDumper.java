package dev.cryo.dump.internal;

import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.cryo.dump.DumpException;
import dev.cryo.images.proto.FdTypes;
import dev.cryo.images.proto.FhEntry;
import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.InotifyFileEntry;
import dev.cryo.images.proto.InotifyWdEntry;
import dev.cryo.syscalls.FileHandles;

/**
 * An inotify instance: each watch (fdinfo's {@code inotify wd:...} lines: its number, mask, and the watched
 * inode as device and file handle). The inode is found by path as CRIU does, through its handle
 * (open_by_handle_at on a mount of its device); the path goes in the handle's entry, and restore adds the
 * watch on it. A watched inode that has no path any more (unlinked, or not reachable from any mount cryo
 * sees) is refused. Events queued at dump are not kept (nor are they by CRIU).
 */
final class InotifyDumper implements FileDumper {
    /** {@code inotify wd:1 ino:3f7e8 sdev:fe00000 mask:300 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f7...} */
    private static final Pattern WD = Pattern.compile("inotify wd:([0-9a-f]+) ino:([0-9a-f]+) sdev:([0-9a-f]+) mask:([0-9a-f]+)"
            + " ignored_mask:([0-9a-f]+) fhandle-bytes:([0-9a-f]+) fhandle-type:([0-9a-f]+) f_handle:([0-9a-f]+)");
    /** FhEntry's minimum number of handle words (CRIU's fh_entry_sizes.min_entries: MAX_HANDLE_SZ in u64). */
    private static final int HANDLE_WORDS = 16;

    @Override
    public void dump(OpenFd fd, FileEntry.Builder e, FileTable files) throws DumpException {
        InotifyFileEntry.Builder in = InotifyFileEntry.newBuilder().setId(e.getId()).setFlags(fd.flags()).setFown(FileTable.NO_OWNER);
        for (String line : fd.fdinfo().split("\n")) {
            if (!line.startsWith("inotify ")) {
                continue;
            }
            Matcher m = WD.matcher(line);
            if (!m.find()) {
                throw new DumpException("cannot dump " + fd.where() + ": its fdinfo has an inotify line cryo cannot read: " + line);
            }
            int wd = (int) Long.parseLong(m.group(1), 16);
            long ino = Long.parseLong(m.group(2), 16);
            int sdev = (int) Long.parseLong(m.group(3), 16);
            int bytes = Integer.parseInt(m.group(6), 16);
            int type = (int) Long.parseLong(m.group(7), 16);
            byte[] handle = HexFormat.of().parseHex(m.group(8));
            if (handle.length != bytes) {
                throw new DumpException("cannot dump " + fd.where() + ": inotify watch " + wd + " shows a file handle of "
                        + handle.length + " bytes where it says " + bytes);
            }
            // the kernel's dev_t: major in the bits above 20, minor below
            int major = sdev >>> 20;
            int minor = sdev & 0xfffff;
            String path = FileHandles.path(major, minor, type, handle).orElseThrow(() -> new DumpException("cannot dump "
                    + fd.where() + ": inotify watch " + wd + " is on inode " + ino + " of device " + major + ":" + minor
                    + ", which has no path cryo can find (unlinked, or on no mount cryo sees)"));
            FhEntry.Builder fh = FhEntry.newBuilder().setBytes(bytes).setType(type).setPath(path);
            java.nio.ByteBuffer words = java.nio.ByteBuffer.wrap(java.util.Arrays.copyOf(handle, HANDLE_WORDS * 8))
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < HANDLE_WORDS; i++) {
                fh.addHandle(words.getLong());
            }
            in.addWd(InotifyWdEntry.newBuilder().setId(e.getId()).setIIno(ino).setMask((int) Long.parseLong(m.group(4), 16))
                    .setIgnoredMask((int) Long.parseLong(m.group(5), 16)).setSDev(sdev).setWd(wd).setFHandle(fh));
        }
        e.setType(FdTypes.INOTIFY).setIfy(in);
    }
}
