package dev.cryo.dump.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import dev.cryo.dump.DumpException;
import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;

/**
 * The images directory of one dump or pre-dump, the run's own until it ends. A directory that holds
 * anything of a dump (a complete one, a part, an image being written, the mark of a run under way or of one
 * that was killed) is refused with one line. The run marks the directory ({@value #MARK}: cryo's pid, locked
 * while it runs); closing it without {@link #complete()} (a failure, an exception of any kind, a cancel
 * after SIGTERM or SIGINT) removes what the run wrote, temporary images, parent link and mark too, so the
 * directory is as it was. Only SIGKILL skips that; the mark it leaves tells the next run what happened.
 */
final class DumpDirectory implements StepImages {
    /** The run's mark: hidden, so that images listings and crit never see it. */
    static final String MARK = ".cryo-dump";
    private static final int SHOWN = 4;

    private final Path dir;
    private final DirectoryImageStore store;
    private final FileChannel mark;
    private final FileLock lock;
    private boolean complete;

    private DumpDirectory(Path dir, FileChannel mark, FileLock lock) {
        this.dir = dir;
        this.store = new DirectoryImageStore(dir);
        this.mark = mark;
        this.lock = lock;
    }

    /** Takes {@code dir} for a run of {@code step} ("dump", "pre-dump"), or refuses it with the reason. */
    static DumpDirectory claim(Path dir, String step) throws DumpException {
        String refusal = "cannot " + step + " into " + dir + ": ";
        if (!Files.isDirectory(dir)) {
            throw new DumpException(refusal + "no such directory");
        }
        refuseLeftovers(dir, refusal);
        FileChannel channel;
        try {
            // CREATE_NEW is O_EXCL: of two runs started together, one gets the directory
            channel = FileChannel.open(dir.resolve(MARK), Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            throw new DumpException(refusal + "another dump has just taken it (" + MARK + ")");
        } catch (IOException e) {
            throw new DumpException(refusal + "not writable (" + reason(e) + ")");
        }
        try {
            FileLock lock = channel.lock();
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            return new DumpDirectory(dir, channel, lock);
        } catch (IOException | RuntimeException e) {
            try {
                channel.close();
                Files.deleteIfExists(dir.resolve(MARK));
            } catch (IOException ignored) {
                // the mark says what happened
            }
            throw new DumpException(refusal + "cannot mark it as the run's (" + reason(e) + ")");
        }
    }

    @Override
    public DirectoryImageStore store() {
        return store;
    }

    @Override
    public PreviousStep previous(dev.cryo.dump.DumpOptions o) throws DumpException {
        return PreviousStep.link(store, o);
    }

    /** The images are in the directory as each was committed. */
    @Override
    public void confirm() {
    }

    /** The run has written its last image: closing keeps them. */
    @Override
    public void complete() {
        complete = true;
    }

    @Override
    public void close() {
        try {
            if (!complete) {
                store.abortAll();
                // refused at claim when there, so any parent link now is this run's
                Path parent = dir.resolve(DirectoryImageStore.PARENT_LINK);
                if (Files.isSymbolicLink(parent)) {
                    Files.delete(parent);
                }
            }
        } catch (IOException | RuntimeException e) {
            // the run's own failure is what the user hears about; a leftover keeps the mark's message true
        } finally {
            try (mark) {
                lock.release();
                Files.deleteIfExists(dir.resolve(MARK));
            } catch (IOException ignored) {
                // a mark left behind makes the next run refuse the directory, saying why
            }
        }
    }

    /** Names in {@code dir} that belong to a dump: images, cryo's records, temporary images, the parent link, the mark. */
    static List<String> leftovers(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) {
                String name = p.getFileName().toString();
                if (name.equals(MARK) || name.equals(DirectoryImageStore.PARENT_LINK) || name.endsWith(".img")
                        || ImageKind.ofFileName(name).isPresent() || DirectoryImageStore.isTemporary(name)
                        || name.startsWith("cryo-") && name.endsWith(".txt")) {
                    out.add(name);
                }
            }
        }
        return out;
    }

    private static void refuseLeftovers(Path dir, String refusal) throws DumpException {
        List<String> left;
        try {
            left = leftovers(dir);
        } catch (IOException e) {
            throw new DumpException(refusal + "cannot list it (" + reason(e) + ")");
        }
        if (left.isEmpty()) {
            return;
        }
        String why;
        if (left.contains(ImageKind.INVENTORY.fileName())) {
            why = "it already holds a dump (inventory.img)";
        } else if (left.contains(MARK)) {
            String pid = markedPid(dir);
            why = held(dir) ? "another dump (cryo pid " + pid + ") is writing into it"
                    : "it holds what a dump that was killed left (cryo pid " + pid + "): " + shown(left);
        } else {
            why = "it holds part of a dump that did not finish: " + shown(left);
        }
        throw new DumpException(refusal + why + "; use an empty directory");
    }

    private static String shown(List<String> names) {
        String some = String.join(", ", names.subList(0, Math.min(SHOWN, names.size())));
        return names.size() > SHOWN ? some + " and " + (names.size() - SHOWN) + " more" : some;
    }

    private static String markedPid(Path dir) {
        try {
            String text = Files.readString(dir.resolve(MARK), StandardCharsets.US_ASCII).strip();
            return text.matches("[0-9]{1,10}") ? text : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Whether a live run holds the mark's lock (a killed one's lock went with it). */
    private static boolean held(Path dir) {
        try (FileChannel ch = FileChannel.open(dir.resolve(MARK), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            FileLock probe = ch.tryLock(0, Long.MAX_VALUE, true);
            if (probe == null) {
                return true;
            }
            probe.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // a run in this very JVM
        } catch (IOException e) {
            return false;
        }
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (m != null && m.contains("Read-only file system")) {
            return "read-only file system";
        }
        return m == null ? e.toString() : m;
    }
}
