package dev.cryo.images;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.cryo.syscalls.ErrnoException;
import dev.cryo.syscalls.Fd;
import dev.cryo.syscalls.Io;
import dev.cryo.syscalls.Kernel;

/**
 * Images as files in one directory, the way CRIU lays them out.
 *
 * <p>Each image is written to a hidden temporary file (mode 0600: images hold
 * a process's memory) and renamed into place on commit, so a reader never
 * sees half an image. Images are opened without following symbolic links, so
 * a planted link cannot make cryo read or write outside the directory.
 * Safe for use by several threads.
 */
public final class DirectoryImageStore implements ImageStore {
    /** The link from a pre-dump's images to the previous snapshot's (CRIU's name). */
    public static final String PARENT_LINK = "parent";

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final Set<FileWriter> writing = ConcurrentHashMap.newKeySet();
    private final Set<String> committed = ConcurrentHashMap.newKeySet();

    /** The name a writer gives an image until it commits: "." + name + "." + 12 hex digits + ".tmp". */
    private static final Pattern TEMPORARY = Pattern.compile("\\..+\\.[0-9a-f]{12}\\.tmp");

    /** Whether {@code fileName} is the temporary name of an image being written (or left by a writer that was killed). */
    public static boolean isTemporary(String fileName) {
        return TEMPORARY.matcher(fileName).matches();
    }

    /** A store over an existing directory. */
    public DirectoryImageStore(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("images directory " + dir + " does not exist or is not a directory");
        }
        this.dir = dir;
    }

    public Path directory() {
        return dir;
    }

    @Override
    public RawWriter openRawWriter(String name) {
        ImageNames.check(name);
        byte[] suffix = new byte[6];
        RANDOM.nextBytes(suffix);
        Path temporary = dir.resolve("." + name + "." + HexFormat.of().formatHex(suffix) + ".tmp");
        try {
            // O_EXCL: it never follows a link planted at the temporary name (nor does O_NOFOLLOW).
            Fd fd = Io.openAt(Kernel.AT_FDCWD, temporary.toString(),
                    Kernel.O_WRONLY | Kernel.O_CREAT | Kernel.O_EXCL | Kernel.O_NOFOLLOW, 0600);
            FileWriter writer = new FileWriter(name, temporary, fd);
            writing.add(writer);
            return writer;
        } catch (ErrnoException e) {
            throw failure("cannot create", name, new IOException(e.reason(), e));
        }
    }

    @Override
    public RawReader openRawReader(String name) {
        Path path = dir.resolve(ImageNames.check(name));
        try {
            // A FIFO or device planted under an image's name would block or misbehave on open.
            if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isRegularFile()) {
                throw new UncheckedIOException("cannot open " + name + " in " + dir + ": not a regular file",
                        new IOException("not a regular file: " + path));
            }
            FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            return new FileReader(name, channel);
        } catch (IOException e) {
            throw failure("cannot open", name, e);
        }
    }

    @Override
    public Optional<Path> pathOf(String name) {
        return Optional.of(dir.resolve(ImageNames.check(name)));
    }

    @Override
    public boolean exists(String name) {
        return Files.isRegularFile(dir.resolve(ImageNames.check(name)), LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public List<String> list() {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith("."))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list images in " + dir + ": " + reason(e), e);
        }
    }

    @Override
    public void delete(String name) {
        try {
            Files.deleteIfExists(dir.resolve(ImageNames.check(name)));
            committed.remove(name);
        } catch (IOException e) {
            throw failure("cannot delete", name, e);
        }
    }

    @Override
    public void abortAll() {
        for (FileWriter writer : writing) {
            writer.close();
        }
        for (String name : committed) {
            delete(name);
        }
    }

    /** The previous snapshot's store, through the {@value #PARENT_LINK} link, if there is one. */
    public Optional<DirectoryImageStore> parent() {
        Path link = dir.resolve(PARENT_LINK);
        if (!Files.isDirectory(link)) {
            return Optional.empty();
        }
        try {
            return Optional.of(new DirectoryImageStore(link.toRealPath()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot follow " + link + ": " + reason(e), e);
        }
    }

    /** Links this snapshot to a previous one, as {@code parent -> target} (target as given, e.g. "../pre1"). */
    public void linkParent(Path target) {
        try {
            Files.createSymbolicLink(dir.resolve(PARENT_LINK), target);
        } catch (FileAlreadyExistsException e) {
            throw new IllegalStateException(dir + " already has a parent link", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot link " + dir.resolve(PARENT_LINK) + " to " + target
                    + ": " + reason(e), e);
        }
    }

    @Override
    public String toString() {
        return "images in " + dir;
    }

    private UncheckedIOException failure(String action, String name, IOException e) {
        return new UncheckedIOException(action + " " + name + " in " + dir + ": " + reason(e), e);
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /**
     * A file written through its descriptor (not a FileChannel), so that pages can be spliced into it from a
     * pipe as well as written from off-heap memory.
     */
    private final class FileWriter implements RawWriter {
        /** Heap bytes (protobuf entries) go to the kernel through this much native memory at a time. */
        private static final long STAGING = 64 * 1024;

        private final String name;
        private final Path temporary;
        private final Fd fd;
        private Arena arena;
        private MemorySegment staging;
        private long position;
        private boolean finished;

        FileWriter(String name, Path temporary, Fd fd) {
            this.name = name;
            this.temporary = temporary;
            this.fd = fd;
        }

        @Override
        public String name() {
            return name;
        }

        private void writable() {
            if (finished) {
                throw new IllegalStateException(name + " is already " + (committed.contains(name) ? "committed" : "closed"));
            }
        }

        @Override
        public synchronized void write(MemorySegment data) {
            writable();
            try {
                if (data.isNative()) {
                    Io.writeFully(fd.fd(), data);
                } else {
                    if (staging == null) {
                        arena = Arena.ofShared();
                        staging = arena.allocate(STAGING, 4096);
                    }
                    for (long done = 0; done < data.byteSize(); ) {
                        long n = Math.min(STAGING, data.byteSize() - done);
                        MemorySegment chunk = staging.asSlice(0, n).copyFrom(data.asSlice(done, n));
                        Io.writeFully(fd.fd(), chunk);
                        done += n;
                    }
                }
                position += data.byteSize();
            } catch (ErrnoException e) {
                throw failure("cannot write", name, new IOException(e.reason(), e));
            }
        }

        @Override
        public boolean takesPipes() {
            return true;
        }

        @Override
        public synchronized void writeFromPipe(Fd pipe, long n) {
            writable();
            try {
                for (long done = 0; done < n; ) {
                    long m = Io.splice(pipe.fd(), fd.fd(), n - done, Kernel.SPLICE_F_MOVE);
                    if (m == 0) {
                        throw new IllegalStateException(name + ": the pipe held " + (n - done) + " bytes fewer than it was given");
                    }
                    done += m;
                    position += m;
                }
            } catch (ErrnoException e) {
                throw failure("cannot write", name, new IOException(e.reason(), e));
            }
        }

        @Override
        public synchronized long position() {
            return position;
        }

        @Override
        public synchronized void commit() {
            if (finished) {
                throw new IllegalStateException(name + " is already closed");
            }
            try {
                release();
                // rename(2): atomic, and it replaces the link itself if a link holds the name.
                Files.move(temporary, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
                committed.add(name);
                finished = true;
                writing.remove(this);
            } catch (IOException e) {
                close();
                throw failure("cannot commit", name, e);
            }
        }

        private void release() {
            try (fd) {
                if (arena != null) {
                    arena.close();
                    arena = null;
                }
            }
        }

        @Override
        public synchronized void close() {
            if (finished) {
                return;
            }
            finished = true;
            writing.remove(this);
            try {
                release();
                Files.deleteIfExists(temporary);
            } catch (IOException e) {
                throw failure("cannot remove the abandoned", name, e);
            }
        }
    }

    private final class FileReader implements RawReader {
        private final String name;
        private final FileChannel channel;
        private final long size;

        FileReader(String name, FileChannel channel) throws IOException {
            this.name = name;
            this.channel = channel;
            this.size = channel.size();
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public int read(ByteBuffer dst, long position) {
            try {
                return channel.read(dst, position);
            } catch (IOException e) {
                throw failure("cannot read", name, e);
            }
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException e) {
                throw failure("cannot close", name, e);
            }
        }
    }
}
