package dev.cryo.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ImageKindTest {
    @Test
    void fileNamesAreCriusNames() {
        assertThat(ImageKind.CORE.fileName(42)).isEqualTo("core-42.img");
        assertThat(ImageKind.PAGES.fileName(1)).isEqualTo("pages-1.img");
        assertThat(ImageKind.PAGEMAP_SHMEM.fileName(9)).isEqualTo("pagemap-shmem-9.img");
        assertThat(ImageKind.GHOST_FILE.fileName(31)).isEqualTo("ghost-file-1f.img");
        assertThat(ImageKind.INVENTORY.fileName()).isEqualTo("inventory.img");
        assertThat(ImageKind.STATS_DUMP.fileName()).isEqualTo("stats-dump.img");
    }

    @Test
    void everyKindIsFoundAgainByItsFileName() {
        for (ImageKind kind : ImageKind.values()) {
            String name = kind.hasId() ? kind.fileName(1234) : kind.fileName();
            assertThat(ImageKind.ofFileName(name)).as(name).contains(kind);
        }
        assertThat(ImageKind.ofFileName("core-.img")).isEmpty();
        assertThat(ImageKind.ofFileName("core-01.img")).isEmpty();
        assertThat(ImageKind.ofFileName("core-1.img.bak")).isEmpty();
    }

    @Test
    void idsAreRequiredExactlyWhereTheNameHasOne() {
        assertThatThrownBy(ImageKind.CORE::fileName).hasMessageContaining("give an id");
        assertThatThrownBy(() -> ImageKind.PSTREE.fileName(1)).hasMessageContaining("without an id");
        assertThatThrownBy(() -> ImageKind.CORE.fileName(-1)).hasMessageContaining("negative");
    }

    @Test
    void headMagicsFollowCriu() {
        assertThat(ImageKind.INVENTORY.headMagic()).isZero();
        assertThat(ImageKind.PAGES.isRaw()).isTrue();
        assertThat(ImageKind.STATS_RESTORE.headMagic()).isEqualTo(ImageMagic.IMG_SERVICE);
        for (ImageKind kind : ImageKind.values()) {
            if (kind != ImageKind.INVENTORY && !kind.isRaw() && !kind.magicName().equals("STATS")) {
                assertThat(kind.headMagic()).as(kind.name()).isEqualTo(ImageMagic.IMG_COMMON);
            }
        }
    }
}
