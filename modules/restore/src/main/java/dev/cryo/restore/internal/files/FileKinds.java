package dev.cryo.restore.internal.files;

import dev.cryo.images.proto.FileEntry;
import dev.cryo.images.proto.FownEntry;

/**
 * What every kind of file entry has, whichever kind it is: the status flags and SIGIO owner of the open
 * file description (CRIU's entries each carry {@code flags} and {@code fown} under those names). Read with
 * each kind's own getters, not through protobuf's reflection: that builds the descriptors of every image's
 * .proto and their accessor tables, 20-30 ms of a restore command's cold start for a few fields.
 */
final class FileKinds {
    private FileKinds() {}

    /** A kind's flags ({@code -1}: it has none) and owner (null: none). */
    private record Common(int flags, FownEntry fown) {}

    private static final Common NONE = new Common(-1, null);

    /** The entry of the file's own kind (reg, pipe, efd, ...): the first one set, in field order. */
    private static Common kind(FileEntry f) {
        if (f.hasReg()) {
            var k = f.getReg();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasIsk()) {
            var k = f.getIsk();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasNsf()) {
            var k = f.getNsf();
            return common(k.hasFlags(), k.getFlags(), false, null);
        } else if (f.hasPsk()) {
            var k = f.getPsk();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasNlsk()) {
            var k = f.getNlsk();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasEfd()) {
            var k = f.getEfd();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasEpfd()) {
            var k = f.getEpfd();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasSgfd()) {
            var k = f.getSgfd();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasTunf()) {
            return NONE;
        } else if (f.hasTfd()) {
            var k = f.getTfd();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasIfy()) {
            var k = f.getIfy();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasFfy()) {
            var k = f.getFfy();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasExt()) {
            var k = f.getExt();
            return common(false, 0, k.hasFown(), k.getFown());
        } else if (f.hasUsk()) {
            var k = f.getUsk();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasFifo()) {
            return NONE; // a FIFO's flags are in the reg entry it names
        } else if (f.hasPipe()) {
            var k = f.getPipe();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasTty()) {
            var k = f.getTty();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasMemfd()) {
            var k = f.getMemfd();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        } else if (f.hasBpf()) {
            var k = f.getBpf();
            return common(k.hasFlags(), k.getFlags(), k.hasFown(), k.getFown());
        }
        return NONE;
    }

    private static Common common(boolean hasFlags, int flags, boolean hasFown, FownEntry fown) {
        return new Common(hasFlags ? flags : -1, hasFown ? fown : null);
    }

    /** The dumped open flags, or -1 when the kind has none (a FIFO's are in its reg entry). */
    static int flags(FileEntry f) {
        return kind(f).flags();
    }

    /** The SIGIO owner, or null when the kind has none or nobody owned the file. */
    static FownEntry owner(FileEntry f) {
        FownEntry o = kind(f).fown();
        return o != null && (o.getPid() != 0 || o.getSignum() != 0) ? o : null;
    }
}
