package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.cryo.images.DirectoryImageStore;
import dev.cryo.images.ImageKind;
import dev.cryo.images.proto.PstreeEntry;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * The rehearsal on a decoy ({@link DumpOptions#warmUp()}): once per kind of step in a JVM, before the tree is
 * frozen, leaving no process and no file behind. (Only this class asks for it in this module's test JVM.)
 */
class WarmUpTest {
    @TempDir
    Path work;

    /**
     * Live processes below this JVM running the command line of the decoy's sleeps, {@code sleep 60} (the
     * decoy is a child of the warm-up's guard, itself a child of this JVM): another cryo's are not counted.
     */
    private static List<Long> decoys() {
        return ProcessHandle.current().descendants().filter(p -> {
            try {
                return Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline")).equals("sleep\u000060\u0000")
                        && !Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat")).matches("^\\d+ \\(.*\\) Z .*");
            } catch (IOException e) {
                return false;
            }
        }).map(ProcessHandle::pid).toList();
    }

    /** This JVM's warm-up directories: they are named after cryo's pid. */
    private static List<Path> leftoverImages() throws IOException {
        String mine = "cryo-warm-up-" + ProcessHandle.current().pid() + "-";
        try (Stream<Path> s = Files.list(Path.of("/dev/shm"))) {
            return s.filter(p -> p.getFileName().toString().startsWith(mine)).toList();
        }
    }

    @Test
    void aDumpRehearsesOnceOnADecoyAndLeavesNothingBehind() throws Exception {
        try (Target target = Target.start("dumpee", work.resolve("t"), "8", "1")) {
            DumpOptions options = DumpOptions.of(target.pid(), Files.createDirectories(work.resolve("img1")))
                    .withLeaveRunning(true).withShellJob(true).withWarmUp(true);
            DumpStats first = Dumper.dump(options, new Cancellation());
            DumpStats second = Dumper.dump(DumpOptions.of(target.pid(), Files.createDirectories(work.resolve("img2")))
                    .withLeaveRunning(true).withShellJob(true).withWarmUp(true), new Cancellation());
            DumpStats preDump = Dumper.preDump(DumpOptions.of(target.pid(), Files.createDirectories(work.resolve("pre")))
                    .withPreDumpMode(PreDumpMode.READ).withWarmUp(true), new Cancellation());

            assertThat(first.warmUpNanos()).as("the first dump rehearses").isPositive();
            assertThat(second.warmUpNanos()).as("once per JVM").isZero();
            assertThat(preDump.warmUpNanos()).as("a pre-dump rehearses its own step").isPositive();
            assertThat(first.processes()).as("the target's tree, not the decoy").isEqualTo(2);
            PstreeEntry root = new DirectoryImageStore(work.resolve("img1")).readEntry(ImageKind.PSTREE, PstreeEntry.parser());
            assertThat(root.getPid()).isEqualTo(target.pid());
            assertThat(target.check()).isEqualTo("PASS");
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!decoys().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(decoys()).as("no decoy left running").isEmpty();
        assertThat(leftoverImages()).as("no decoy images left").isEmpty();
    }
}
