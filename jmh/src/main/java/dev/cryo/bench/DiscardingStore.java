package dev.cryo.bench;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import dev.cryo.images.ImageStore;
import dev.cryo.images.RawReader;
import dev.cryo.images.RawWriter;

/** An image store that keeps nothing, for benchmarks of what comes before the disk: it counts the bytes. */
final class DiscardingStore implements ImageStore {
    final AtomicLong bytes = new AtomicLong();

    @Override
    public RawWriter openRawWriter(String name) {
        return new RawWriter() {
            private long position;

            @Override
            public String name() {
                return name;
            }

            @Override
            public void write(MemorySegment data) {
                position += data.byteSize();
                bytes.addAndGet(data.byteSize());
            }

            @Override
            public long position() {
                return position;
            }

            @Override
            public void commit() {
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public RawReader openRawReader(String name) {
        throw new UnsupportedOperationException("a discarding store has no " + name);
    }

    @Override
    public Optional<Path> pathOf(String name) {
        return Optional.empty();
    }

    @Override
    public boolean exists(String name) {
        return false;
    }

    @Override
    public List<String> list() {
        return List.of();
    }

    @Override
    public void delete(String name) {
    }

    @Override
    public void abortAll() {
    }

    @Override
    public String toString() {
        return "a discarding store";
    }
}
