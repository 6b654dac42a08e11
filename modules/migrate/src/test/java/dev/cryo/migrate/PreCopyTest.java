package dev.cryo.migrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The pre-copy rule: what another round would buy, against the link and the last round. */
class PreCopyTest {
    private static final long MS = 1_000_000;

    private static PreCopy.Round round(long pages, long ms) {
        return new PreCopy.Round(pages, pages * 4096, ms * MS);
    }

    @Test
    void autoAlwaysRunsTheFirstRound() {
        assertThat(PreCopy.auto().another(List.of())).isTrue();
    }

    @Test
    void autoStopsOnceTheLastRoundCrossesTheLinkWithinTheBudget() {
        // 1 GiB in 1 s: ~1 GiB/s; 10,000 pages (40 MiB) need ~40 ms, within 50 ms: stop
        List<PreCopy.Round> done = List.of(round(262_144, 1000), round(10_000, 40));
        assertThat(PreCopy.auto().another(done)).isFalse();
    }

    @Test
    void autoGoesOnWhileRoundsShrinkButTakeLongerThanTheBudget() {
        // 1 GiB in 1 s, then 100,000 pages (~400 MiB, ~400 ms on this link): still worth another round
        List<PreCopy.Round> done = List.of(round(262_144, 1000), round(100_000, 400));
        assertThat(PreCopy.auto().another(done)).isTrue();
    }

    @Test
    void autoStopsWhenARoundShrinksByLessThanAFifth() {
        // a tree writing about as fast as the link: 90,000 pages after 100,000 buys too little
        List<PreCopy.Round> done = List.of(round(262_144, 1000), round(100_000, 400), round(90_000, 360));
        assertThat(PreCopy.auto().another(done)).isFalse();
    }

    @Test
    void autoStopsAfterEightRounds() {
        List<PreCopy.Round> done = new ArrayList<>();
        done.add(round(10_000_000, 10_000)); // a slow link: every later round is well over the budget
        for (long pages = 5_000_000; done.size() < PreCopy.MAX_ROUNDS; pages /= 2) {
            assertThat(PreCopy.auto().another(done)).as("after %d rounds", done.size()).isTrue();
            done.add(round(pages, pages / 1000));
        }
        assertThat(PreCopy.auto().another(done)).isFalse();
    }

    @Test
    void withPostCopyAutoRunsTheFirstRoundAlone() {
        assertThat(PreCopy.auto().another(List.of(), true)).isTrue();
        // a round that would make auto go on without post-copy (big, and shrinking fast)
        List<PreCopy.Round> done = List.of(round(262_144, 1000), round(100_000, 400));
        assertThat(PreCopy.auto().another(done.subList(0, 1), false)).isTrue();
        assertThat(PreCopy.auto().another(done.subList(0, 1), true)).isFalse();
        assertThat(new PreCopy(3).another(done, true)).as("a number is a number, post-copy or not").isTrue();
    }

    @Test
    void aNumberRunsThatManyRounds() {
        assertThat(new PreCopy(2).another(List.of(round(1, 1)))).isTrue();
        assertThat(new PreCopy(2).another(List.of(round(1, 1), round(1, 1)))).isFalse();
        assertThat(PreCopy.none().another(List.of())).isFalse();
        assertThatThrownBy(() -> new PreCopy(65)).isInstanceOf(IllegalArgumentException.class);
    }
}
