package dev.cryo.zdtm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** {@code cryo demo}, as README tells a newcomer to type it: dump, images, restore, and the count goes on. */
class DemoTest {
    @Test
    void theDemoRestoresItsCounterWhichCountsOnAndLeavesNothingRunning() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = dev.cryo.cli.Main.run(new String[] {"demo"}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(code).as("exit status; stderr: %s", err).isZero();
        String said = out.toString();
        assertThat(said).contains("cryo dump -t", "pstree.img", "pages-1.img", "cryo restore -D", "counts on from where it stopped");
        Matcher m = Pattern.compile("stopped: (\\d+) -> (\\d+)").matcher(said);
        assertThat(m.find()).as(said).isTrue();
        assertThat(Long.parseLong(m.group(2))).isGreaterThan(Long.parseLong(m.group(1)));
        Matcher pid = Pattern.compile("restored pid (\\d+)").matcher(said);
        assertThat(pid.find()).isTrue();
        assertThat(Path.of("/proc/" + pid.group(1))).as("the counter is stopped and reaped").matches(p -> !Files.exists(p));
        Matcher kept = Pattern.compile("The images stay in (/\\S+)/images;").matcher(said);
        assertThat(kept.find()).isTrue();
        TestRun.deleteTree(Path.of(kept.group(1))); // the demo leaves them for the user to look at; the test does not
    }
}
