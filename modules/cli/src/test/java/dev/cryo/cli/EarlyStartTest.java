package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import dev.cryo.dump.PreDumpMode;

/** The glance at the command line that picks the warm-up a fresh cryo starts before parsing it. */
class EarlyStartTest {
    private static EarlyStart.WarmUp guess(String line) {
        return EarlyStart.guess(line.split(" ")).orElse(null);
    }

    @Test
    void eachDumpAndPreDumpLineGetsTheWarmUpOfItsOwnKindAndOthersNone() {
        assertThat(guess("dump -t 42 -D /tmp/x")).isEqualTo(new EarlyStart.WarmUp(null, false));
        assertThat(guess("-v dump -t 42 -D /tmp/x -R")).isEqualTo(new EarlyStart.WarmUp(null, true));
        assertThat(guess("dump -jR -t 42 -D /tmp/x")).isEqualTo(new EarlyStart.WarmUp(null, true));
        assertThat(guess("dump -t 42 -D /tmp/-R-dir --leave-running")).isEqualTo(new EarlyStart.WarmUp(null, true));
        assertThat(guess("pre-dump -t 42 -D /tmp/x")).isEqualTo(new EarlyStart.WarmUp(PreDumpMode.SPLICE, false));
        assertThat(guess("pre-dump -t 42 -D /tmp/x --pre-dump-mode read")).isEqualTo(new EarlyStart.WarmUp(PreDumpMode.READ, false));
        assertThat(guess("pre-dump --pre-dump-mode=read -t 42 -D /tmp/x -R")).isEqualTo(new EarlyStart.WarmUp(PreDumpMode.READ, false));
        assertThat(guess("dump -t 42 -D /tmp/x --no-warm-up")).isNull();
        assertThat(guess("dump --help")).isNull();
        assertThat(guess("restore -D /tmp/x -d")).isNull();
        assertThat(guess("-v")).isNull();
    }
}
