package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cryo.images.SampleImages.Sample;
import dev.cryo.images.proto.PipeDataEntry;
import dev.cryo.images.proto.PstreeEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicWriteTest {
    @TempDir
    Path dir;

    private static final PstreeEntry TASK = PstreeEntry.newBuilder().setPid(1).setPpid(0).setPgid(1).setSid(1).build();

    @Test
    void anExceptionInsideAWriterLeavesNoFile() {
        DirectoryImageStore store = new DirectoryImageStore(dir);
        assertThatThrownBy(() -> {
            try (EntryWriter w = store.openWriter(ImageKind.PSTREE)) {
                w.write(TASK);
                throw new IllegalStateException("dump failed half way");
            }
        }).hasMessage("dump failed half way");
        assertThat(filesIn(dir)).isEmpty();
    }

    @Test
    void nothingIsVisibleBeforeCommit() {
        DirectoryImageStore store = new DirectoryImageStore(dir);
        try (EntryWriter w = store.openWriter(ImageKind.PSTREE)) {
            w.write(TASK);
            assertThat(store.exists("pstree.img")).isFalse();
            assertThat(store.list()).isEmpty();
            w.commit();
            assertThat(store.list()).containsExactly("pstree.img");
        }
        assertThat(filesIn(dir)).containsExactly("pstree.img");
    }

    @Test
    void imagesAreReadableByTheOwnerOnly() throws Exception {
        DirectoryImageStore store = new DirectoryImageStore(dir);
        store.writeEntry(ImageKind.PSTREE, TASK);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("pstree.img"))))
                .isEqualTo("rw-------");
    }

    @Test
    void abortAllRemovesCommittedAndOpenImagesOfThisStoreOnly() throws Exception {
        Files.writeString(dir.resolve("unrelated.txt"), "not ours");
        DirectoryImageStore store = new DirectoryImageStore(dir);
        for (Sample sample : SampleImages.all()) {
            sample.writeTo(store);
        }
        EntryWriter open = store.openWriter(ImageKind.CORE, 99);
        open.write(SampleImages.core(99, false));
        assertThat(filesIn(dir)).hasSizeGreaterThan(SampleImages.all().size());

        store.abortAll();

        assertThat(filesIn(dir)).containsExactly("unrelated.txt");
        assertThatThrownBy(open::commit).isInstanceOf(IllegalStateException.class).hasMessageContaining("core-99.img");
        open.close();
    }

    @Test
    void abortAllInMemoryToo() {
        MemoryImageStore store = new MemoryImageStore();
        store.put("kept.img", new byte[] {1});
        store.writeEntry(ImageKind.PSTREE, TASK);
        store.abortAll();
        assertThat(store.list()).containsExactly("kept.img");
    }

    @Test
    void commitReplacesAnOlderImage() {
        DirectoryImageStore store = new DirectoryImageStore(dir);
        store.writeEntry(ImageKind.PSTREE, TASK);
        PstreeEntry other = TASK.toBuilder().setPid(2).build();
        store.writeEntry(ImageKind.PSTREE, other);
        assertThat(store.readEntry(ImageKind.PSTREE, PstreeEntry.parser())).isEqualTo(other);
    }

    @Test
    void aPlantedSymlinkIsNeitherFollowedNorWrittenThrough() throws Exception {
        Path target = Files.writeString(dir.resolveSibling(dir.getFileName() + "-target"), "precious");
        Files.createSymbolicLink(dir.resolve("pstree.img"), target);
        DirectoryImageStore store = new DirectoryImageStore(dir);
        assertThatThrownBy(() -> store.openRawReader("pstree.img"))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("pstree.img");
        store.writeEntry(ImageKind.PSTREE, TASK);
        assertThat(Files.isSymbolicLink(dir.resolve("pstree.img"))).isFalse();
        assertThat(Files.readString(target)).isEqualTo("precious");
        Files.delete(target);
    }

    @Test
    void aMissingImageIsAnErrorNamingIt() {
        DirectoryImageStore store = new DirectoryImageStore(dir);
        assertThatThrownBy(() -> store.openReader(ImageKind.CORE, 7))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage("cannot open core-7.img in " + dir + ": no such file");
    }

    @Test
    void payloadMustBeCompleteBeforeCommit() {
        MemoryImageStore store = new MemoryImageStore();
        try (EntryWriter w = store.openWriter(ImageKind.PIPES_DATA)) {
            w.write(PipeDataEntry.newBuilder().setPipeId(1).setBytes(10).build());
            w.writePayload(new byte[4]);
            assertThatThrownBy(w::commit).hasMessage("pipes-data.img: 6 payload bytes still due");
            assertThatThrownBy(() -> w.writePayload(new byte[7])).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(store.list()).isEmpty();
    }

    @Test
    void anEntryOfTheWrongTypeIsRefused() {
        MemoryImageStore store = new MemoryImageStore();
        try (EntryWriter w = store.openWriter(ImageKind.CORE, 1)) {
            assertThatThrownBy(() -> w.write(TASK))
                    .hasMessage("core-1.img takes CoreEntry as entry 0, not PstreeEntry");
        }
        try (EntryWriter w = store.openWriter(ImageKind.PAGEMAP, 1)) {
            assertThatThrownBy(w::commit).hasMessageContaining("needs its PagemapHead first");
        }
    }

    private static List<String> filesIn(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
