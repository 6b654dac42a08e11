package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Proc;
import dev.cryo.testkit.Target;

/**
 * The rehearsal on a decoy ({@link DumpOptions#warmUp()}): once per kind of step in a JVM, before the tree is
 * frozen, leaving no process and no file behind. The test looks only at the decoys its own dumps report
 * (another cryo on the machine may be warming up at the same time). (Only this class asks for a warm-up in this
 * module's test JVM.)
 */
class WarmUpTest {
    private static final Pattern DECOY = Pattern.compile("^warm-up: decoy pid (\\d+) with ([\\d ]*), images in (/\\S+)$");

    @TempDir
    Path work;

    /** What the dumps said of their decoys: each process by pid with its start time (pids are reused), and the images. */
    private final Map<Integer, String> decoyProcesses = new LinkedHashMap<>();
    private final List<Path> decoyImages = new ArrayList<>();

    /** Hears the decoy's line, while the decoy runs, and notes its processes and images. */
    private final DumpListener listener = new DumpListener() {
        @Override
        public void log(String message) {
            Matcher m = DECOY.matcher(message);
            if (m.matches()) {
                List<Integer> pids = new ArrayList<>(List.of(Integer.parseInt(m.group(1))));
                for (String k : m.group(2).trim().split(" ")) {
                    pids.add(Integer.parseInt(k));
                }
                pids.forEach(p -> decoyProcesses.put(p, Proc.stat(p).field(22)));
                decoyImages.add(Path.of(m.group(3)));
            }
        }
    };

    /** Whether the process {@code pid} that started at {@code startTime} still runs (not gone, not a zombie, not another). */
    private static boolean runs(int pid, String startTime) {
        try {
            Proc.Stat s = Proc.stat(pid);
            return s.state() != 'Z' && s.field(22).equals(startTime);
        } catch (Proc.TaskGoneException | java.io.UncheckedIOException e) {
            return false;
        }
    }

    @Test
    void aDumpRehearsesOnceOnADecoyAndLeavesNothingBehind() throws Exception {
        try (Target target = Target.start("dumpee", work.resolve("t"), "8", "1")) {
            DumpStats first = Dumper.dump(DumpOptions.of(target.pid(), Files.createDirectories(work.resolve("img1")))
                    .withLeaveRunning(true).withShellJob(true).withWarmUp(true).withListener(listener), new Cancellation());
            int afterFirst = decoyImages.size();
            DumpStats second = Dumper.dump(DumpOptions.of(target.pid(), Files.createDirectories(work.resolve("img2")))
                    .withLeaveRunning(true).withShellJob(true).withWarmUp(true).withListener(listener), new Cancellation());
            int afterSecond = decoyImages.size();
            DumpStats preDump = Dumper.preDump(DumpOptions.of(target.pid(), Files.createDirectories(work.resolve("pre")))
                    .withPreDumpMode(PreDumpMode.READ).withWarmUp(true).withListener(listener), new Cancellation());

            assertThat(first.warmUpNanos()).as("the first dump rehearses").isPositive();
            assertThat(afterFirst).as("decoys of the first dump").isEqualTo(1);
            assertThat(second.warmUpNanos()).as("once per JVM").isZero();
            assertThat(afterSecond).as("no decoy for the second dump").isEqualTo(1);
            assertThat(preDump.warmUpNanos()).as("a pre-dump rehearses its own step").isPositive();
            assertThat(decoyImages).as("decoys of the pre-dump").hasSize(2);
            assertThat(decoyProcesses).as("a shell and its two sleeps per decoy").hasSize(6);
            assertThat(first.processes()).as("the target's tree, not the decoy").isEqualTo(2);
            PstreeEntry root = new DirectoryImageStore(work.resolve("img1")).readEntry(ImageKind.PSTREE, PstreeEntry.parser());
            assertThat(root.getPid()).isEqualTo(target.pid());
            assertThat(target.check()).isEqualTo("PASS");
        }
        assertDecoysGone();
    }

    @Test
    void anEarlyWarmUpIsWaitedForByItsStepAndLeavesNothingBehind() throws Exception {
        try (Target target = Target.start("dumpee", work.resolve("t"), "8", "1")) {
            // a kind that the other test does not rehearse: DONE is the JVM's
            Dumper.warmUpEarly(PreDumpMode.SPLICE, false, listener);
            List<String> stepSaid = new ArrayList<>();
            DumpStats preDump = Dumper.preDump(DumpOptions.of(target.pid(), Files.createDirectories(work.resolve("pre1")))
                    .withPreDumpMode(PreDumpMode.SPLICE).withWarmUp(true).withListener(new DumpListener() {
                        @Override
                        public void log(String message) {
                            stepSaid.add(message);
                        }
                    }), new Cancellation());
            DumpStats again = Dumper.preDump(DumpOptions.of(target.pid(), Files.createDirectories(work.resolve("pre2")))
                    .withPreDumpMode(PreDumpMode.SPLICE).withWarmUp(true).withListener(listener), new Cancellation());

            assertThat(decoyImages).as("the early warm-up's decoy, and no other").hasSize(1);
            assertThat(decoyProcesses).as("a shell and its two sleeps").hasSize(3);
            assertThat(stepSaid).as("the step ran no decoy of its own").noneMatch(m -> DECOY.matcher(m).matches());
            assertThat(preDump.warmUpNanos()).as("the step waited for the early warm-up").isPositive();
            assertThat(again.warmUpNanos()).as("once per JVM").isZero();
            assertThat(target.check()).isEqualTo("PASS");
        }
        assertDecoysGone();
    }

    private void assertDecoysGone() throws InterruptedException {
        // killed with SIGKILL as each rehearsal ends: they go in their own time
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (decoyProcesses.entrySet().stream().anyMatch(e -> runs(e.getKey(), e.getValue()))) {
            assertThat(System.nanoTime()).as("the decoys %s end within 10 s", decoyProcesses.keySet()).isLessThan(deadline);
            Thread.sleep(10);
        }
        for (Path images : decoyImages) {
            assertThat(images).as("the decoy's images").doesNotExist();
        }
    }
}
