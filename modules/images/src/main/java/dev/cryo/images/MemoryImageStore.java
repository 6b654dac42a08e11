package dev.cryo.images;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Images held in memory, for tests. Same rules as a directory: checked names, commit to publish. */
public final class MemoryImageStore implements ImageStore {
    private final Map<String, byte[]> images = new ConcurrentHashMap<>();
    private final Set<MemoryWriter> writing = ConcurrentHashMap.newKeySet();
    private final Set<String> committed = ConcurrentHashMap.newKeySet();

    /** An empty store. */
    public MemoryImageStore() {}

    /** The bytes of an image, as a file would hold them. */
    public byte[] bytes(String name) {
        byte[] data = images.get(ImageNames.check(name));
        if (data == null) {
            throw new IllegalArgumentException("no image " + name + " in memory");
        }
        return data.clone();
    }

    /** Puts an image in place as it is, e.g. a damaged copy for a test. */
    public void put(String name, byte[] data) {
        images.put(ImageNames.check(name), data.clone());
    }

    @Override
    public RawWriter openRawWriter(String name) {
        MemoryWriter writer = new MemoryWriter(ImageNames.check(name));
        writing.add(writer);
        return writer;
    }

    @Override
    public RawReader openRawReader(String name) {
        byte[] data = images.get(ImageNames.check(name));
        if (data == null) {
            throw new UncheckedIOException("cannot open " + name + " in memory: no such image",
                    new NoSuchFileException(name));
        }
        return new MemoryReader(name, data);
    }

    @Override
    public Optional<Path> pathOf(String name) {
        ImageNames.check(name);
        return Optional.empty();
    }

    @Override
    public boolean exists(String name) {
        return images.containsKey(ImageNames.check(name));
    }

    @Override
    public List<String> list() {
        return images.keySet().stream().sorted().toList();
    }

    @Override
    public void delete(String name) {
        images.remove(ImageNames.check(name));
        committed.remove(name);
    }

    @Override
    public void abortAll() {
        for (MemoryWriter writer : writing) {
            writer.close();
        }
        for (String name : committed) {
            delete(name);
        }
    }

    private final class MemoryWriter implements RawWriter {
        private final String name;
        private byte[] data = new byte[4096];
        private int size;
        private boolean finished;

        MemoryWriter(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public synchronized void write(MemorySegment segment) {
            if (finished) {
                throw new IllegalStateException(name + " is already finished");
            }
            long needed = size + segment.byteSize();
            if (needed > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(name + ": a memory image cannot exceed 2 GiB");
            }
            if (needed > data.length) {
                data = Arrays.copyOf(data, (int) Math.max(needed, Math.min(Integer.MAX_VALUE - 8L, data.length * 2L)));
            }
            MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, 0, data, size, (int) segment.byteSize());
            size = (int) needed;
        }

        @Override
        public synchronized long position() {
            return size;
        }

        @Override
        public synchronized void commit() {
            if (finished) {
                throw new IllegalStateException(name + " is already finished");
            }
            finished = true;
            images.put(name, Arrays.copyOf(data, size));
            committed.add(name);
            writing.remove(this);
        }

        @Override
        public synchronized void close() {
            finished = true;
            writing.remove(this);
        }
    }

    private record MemoryReader(String name, byte[] data) implements RawReader {
        @Override
        public long size() {
            return data.length;
        }

        @Override
        public int read(ByteBuffer dst, long position) {
            if (position >= data.length) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), data.length - position);
            dst.put(data, (int) position, n);
            return n;
        }

        @Override
        public void close() {}
    }
}
