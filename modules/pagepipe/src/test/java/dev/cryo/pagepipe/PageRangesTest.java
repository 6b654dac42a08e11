package dev.cryo.pagepipe;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.cryo.syscalls.Page;

class PageRangesTest {
    private static PageRange r(long startPage, long pages) {
        return new PageRange(startPage * Page.SIZE, pages);
    }

    @Test
    void intersectKeepsOnlyCommonPages() {
        assertThat(PageRanges.intersect(List.of(r(0, 10), r(20, 10)), List.of(r(5, 20))))
                .containsExactly(r(5, 5), r(20, 5));
    }

    @Test
    void subtractCutsHolesAndKeepsTheRest() {
        assertThat(PageRanges.subtract(List.of(r(0, 10), r(20, 10)), List.of(r(2, 2), r(8, 14), r(29, 5))))
                .containsExactly(r(0, 2), r(4, 4), r(22, 7));
        assertThat(PageRanges.subtract(List.of(r(0, 4)), List.of())).containsExactly(r(0, 4));
        assertThat(PageRanges.subtract(List.of(r(0, 4)), List.of(r(0, 4)))).isEmpty();
    }
}
