package dev.cryo.pagexfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.cryo.images.VmaStatus;
import dev.cryo.images.proto.MmEntry;
import dev.cryo.images.proto.VmaEntry;
import dev.cryo.syscalls.Kernel;
import dev.cryo.syscalls.Page;

class LazyMemoryTest {
    private static final long P = Page.SIZE;

    private static VmaEntry vma(long start, long end, int status, int flags) {
        return VmaEntry.newBuilder().setStart(start).setEnd(end).setPgoff(0).setShmid(0).setProt(3).setFlags(flags)
                .setStatus(status).setFd(-1).build();
    }

    @Test
    void allLazyAgreesWithTheLazyPartOnEveryRange() {
        int anon = VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_ANON_PRIVATE;
        int file = VmaStatus.VMA_AREA_REGULAR | VmaStatus.VMA_FILE_PRIVATE;
        int priv = Kernel.MAP_PRIVATE | Kernel.MAP_ANONYMOUS;
        MmEntry mm = MmEntry.newBuilder()
                .addVmas(vma(16 * P, 32 * P, anon, priv))
                .addVmas(vma(32 * P, 48 * P, anon, priv)) // touches the one before: joined
                .addVmas(vma(64 * P, 80 * P, file, Kernel.MAP_PRIVATE))
                .addVmas(vma(96 * P, 112 * P, anon, priv | Kernel.MAP_LOCKED)) // locked: never lazy
                .addVmas(vma(120 * P, 124 * P, anon, priv))
                .buildPartial();
        // a thread's stack pages, and one at the start of a mapping
        LazyMemory rule = LazyMemory.withThreadPages(mm, List.of(new long[] {20 * P, 22 * P}, new long[] {120 * P, 121 * P}));
        List<String> disagree = new ArrayList<>();
        for (long s = 14; s < 126; s++) {
            for (long e = s + 1; e <= 126; e++) {
                List<long[]> part = rule.lazyPart(s * P, e * P);
                boolean whole = part.size() == 1 && part.getFirst()[0] == s * P && part.getFirst()[1] == e * P;
                if (rule.allLazy(s * P, e * P) != whole) {
                    disagree.add("pages " + s + "-" + e);
                }
            }
        }
        assertThat(disagree).isEmpty();
        assertThat(rule.allLazy(23 * P, 47 * P)).isTrue(); // across the joined mappings, after the stack pages
    }
}
