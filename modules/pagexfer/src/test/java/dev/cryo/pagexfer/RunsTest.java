package dev.cryo.pagexfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class RunsTest {
    /** Runs [0x1000, 0x3000), [0x5000, 0x6000), [0x8000, 0xa000) as {start, end}. */
    private static final List<long[]> RUNS = List.of(new long[] {0x1000, 0x3000}, new long[] {0x5000, 0x6000},
            new long[] {0x8000, 0xa000});

    @Test
    void findsTheFirstRunEndingAfterEachAddressAsALinearScanDoes() {
        List<Integer> got = new ArrayList<>();
        List<Integer> scanned = new ArrayList<>();
        for (long addr = 0; addr <= 0xb000; addr += 0x800) {
            for (int from = 0; from <= RUNS.size(); from++) {
                got.add(Runs.firstEndingAfter(RUNS, from, addr, r -> r[1]));
                int i = from;
                while (i < RUNS.size() && RUNS.get(i)[1] <= addr) {
                    i++;
                }
                scanned.add(i);
            }
        }
        assertThat(got).isEqualTo(scanned);
    }
}
