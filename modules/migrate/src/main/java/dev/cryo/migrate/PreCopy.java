package dev.cryo.migrate;

import java.time.Duration;

/**
 * How many pre-copy rounds run before the final dump: a fixed number, or {@link #auto()}.
 *
 * <p>The automatic rule. P.Haul stops after 8 rounds, or once a round writes fewer than 64 pages, or once it
 * writes 10% more than the round before. Both of its thresholds ignore the link: 64 pages is 0.3 ms on a
 * 1 Gbit/s link, so a tree that keeps writing a few hundred pages per round runs all 8 rounds for nothing, and
 * a round that shrank by only 1% is run again and again though it buys nothing. cryo's rule asks what the next
 * round would buy against the downtime: it stops once
 * <ul>
 * <li>the last round's pages would cross the link, at the rate the rounds so far measured, within
 * {@link #DOWNTIME_BUDGET} (the final dump sends that much while the tree is frozen: small enough), or</li>
 * <li>the last round sent more than {@link #CONVERGENCE} of the round before (another round would shrink the
 * final dump by less than a fifth: the tree writes about as fast as the link carries), or</li>
 * <li>{@link #MAX_ROUNDS} rounds have run.</li>
 * </ul>
 * The first round (the whole memory) always runs.
 *
 * <p>With post-copy, auto runs that first round alone. The final dump then leaves the memory lazy and sends
 * nothing of it frozen, so a later round cannot shorten the freeze: it only lengthens the chain of snapshots
 * that the frozen final dump and the destination's restore walk. Measured on a quiet machine
 * (scripts/bench-migrate, medians of 3), one round against auto's 2 to 7: downtime 304 against 356 ms at 1 GiB,
 * 446 against 592 ms at 2 GiB, with less total time and fewer bytes on the wire (2499 against 2868 MiB at
 * 2 GiB). What the tree writes after that round comes lazily.
 */
public record PreCopy(int rounds) {
    public static final int MAX_ROUNDS = 8;
    public static final Duration DOWNTIME_BUDGET = Duration.ofMillis(50);
    public static final double CONVERGENCE = 0.8;
    /** {@code rounds} of {@link #auto()}. */
    private static final int AUTO = -1;

    public PreCopy {
        if (rounds < AUTO || rounds > 64) {
            throw new IllegalArgumentException("pre-copy rounds are auto or 0 to 64, not " + rounds);
        }
    }

    public static PreCopy auto() {
        return new PreCopy(AUTO);
    }

    public static PreCopy none() {
        return new PreCopy(0);
    }

    public boolean isAuto() {
        return rounds == AUTO;
    }

    /** A round's figures, as the rule reads them. */
    public record Round(long pages, long bytes, long nanos) {}

    /** Whether another round runs after {@code done} (in order; never empty unless no round ran), without post-copy. */
    public boolean another(java.util.List<Round> done) {
        return another(done, false);
    }

    /** Whether another round runs after {@code done}; with {@code postCopy}, auto runs the first round alone. */
    public boolean another(java.util.List<Round> done, boolean postCopy) {
        if (!isAuto()) {
            return done.size() < rounds;
        }
        if (done.isEmpty()) {
            return true;
        }
        if (postCopy) {
            return false;
        }
        if (done.size() >= MAX_ROUNDS) {
            return false;
        }
        Round last = done.getLast();
        long bytes = done.stream().mapToLong(Round::bytes).sum();
        long nanos = Math.max(1, done.stream().mapToLong(Round::nanos).sum());
        double bytesPerNano = (double) bytes / nanos;
        if (last.bytes() <= bytesPerNano * DOWNTIME_BUDGET.toNanos()) {
            return false;
        }
        if (done.size() >= 2 && last.pages() > CONVERGENCE * done.get(done.size() - 2).pages()) {
            return false;
        }
        return true;
    }

    @Override
    public String toString() {
        return isAuto() ? "auto" : Integer.toString(rounds);
    }
}
