package dev.cryo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

class ProgressLineTest {
    @Test
    void drawsNothingWhenNotOnATerminal() {
        StringWriter err = new StringWriter();
        try (ProgressLine p = new ProgressLine(new PrintWriter(err), false, false)) {
            p.pages(1, 2);
            p.log("froze 1 process");
        }
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void verbosePrintsTheDumpLogWithTheTimeSinceTheStart() {
        StringWriter err = new StringWriter();
        try (ProgressLine p = new ProgressLine(new PrintWriter(err), false, true)) {
            p.log("froze 1 process");
        }
        assertThat(err.toString()).matches("cryo: \\[ *[0-9]+\\.[0-9] ms\\] froze 1 process" + System.lineSeparator());
    }

    @Test
    void drawsABarOnceTheWorkTakesASecondAndErasesItAtTheEnd() throws InterruptedException {
        StringWriter err = new StringWriter();
        try (ProgressLine p = new ProgressLine(new PrintWriter(err), true, false)) {
            p.pages(10, 100);
            assertThat(err.toString()).isEmpty();
            Thread.sleep(1100);
            p.pages(50, 100);
            assertThat(err.toString()).startsWith("\rcryo: pages [###############               ] 50% 50/100");
        }
        assertThat(err.toString()).endsWith("\r\033[K");
    }
}
