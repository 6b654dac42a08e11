package dev.cryo.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.cryo.parasite.Cancellation;
import dev.cryo.syscalls.Page;
import dev.cryo.syscalls.Proc;
import dev.cryo.testkit.Target;

/**
 * Pre-dumps where the kernel tracks writes with soft-dirty rather than uffd-wp. This project's machine has
 * no CONFIG_MEM_SOFT_DIRTY, so these run (and are meant to be run) on a kernel that has it and lacks
 * UFFD_FEATURE_WP_ASYNC, such as Debian 12's own 6.1: see docs/soft-dirty.md. Skipped elsewhere.
 */
class SoftDirtyPreDumpTest {

    private Path work;

    @BeforeEach
    void scratch() throws Exception {
        assumeThat(DirtyTracker.here()).as("cryo tracks with soft-dirty on this kernel").contains(DirtyTracker.SOFT_DIRTY);
        work = PreDumpTest.scratchDir("cryo-softdirty");
    }

    @AfterEach
    void clean() throws Exception {
        PreDumpTest.deleteTree(work);
    }

    @ParameterizedTest
    @EnumSource(PreDumpMode.class)
    void twoPreDumpsAndADumpWriteOnlyWhatChangedAndTheChainHoldsTheTargetsMemory(PreDumpMode mode) throws Exception {
        int mib = 256;
        long pages = mib * 256L;
        Path pre1 = Files.createDirectory(work.resolve("pre1"));
        Path pre2 = Files.createDirectory(work.resolve("pre2"));
        Path dump = Files.createDirectory(work.resolve("dump"));
        try (Target t = PreDumpTest.dirtyTarget(work.resolve("t"), mib, 10)) {
            int pid = t.pid();
            DumpStats s1 = Dumper.preDump(DumpOptions.of(pid, pre1).withPreDumpMode(mode), new Cancellation());
            assertThat(s1.trackers()).containsExactly(DirtyTracker.SOFT_DIRTY);
            assertThat(s1.pagesWritten()).isGreaterThanOrEqualTo(pages);
            assertThat(Files.readAllLines(pre1.resolve("cryo-soft-dirty.txt")).getLast())
                    .isEqualTo(pid + " " + Proc.stat(pid).longField(22));
            assertThat(pre1.resolve("cryo-uffd.txt")).as("nothing left in the process").doesNotExist();
            PreDumpTest.assertRunsFree(t);
            PreDumpTest.dirty(t, 1);
            DumpStats s2 = Dumper.preDump(DumpOptions.of(pid, pre2).withPreDumpMode(mode).withPrevImagesDir(Path.of("../pre1")),
                    new Cancellation());
            PreDumpTest.dirty(t, 2);
            String expected = PreDumpTest.checksum(t);
            long buf = PreDumpTest.buffer(t);
            DumpStats s3 = Dumper.dump(DumpOptions.of(pid, dump).withShellJob(true).withTrackMem(true)
                    .withPrevImagesDir(Path.of("../pre2")), new Cancellation());
            System.out.printf("soft-dirty %s: pre-dump 1 wrote %d pages (frozen %.2f ms), pre-dump 2 wrote %d (frozen %.2f ms,"
                            + " %d in parent), dump wrote %d (%d in parent)%n", mode, s1.pagesWritten(), s1.frozenNanos() / 1e6,
                    s2.pagesWritten(), s2.frozenNanos() / 1e6, s2.pagesInParent(), s3.pagesWritten(), s3.pagesInParent());
            assertThat(s2.pagesWritten()).as("second pre-dump").isLessThanOrEqualTo(pages * 2 / 100);
            assertThat(s3.pagesWritten()).as("final dump").isLessThanOrEqualTo(pages * 2 / 100);
            assertThat(s2.pagesInParent()).isGreaterThan(pages * 97 / 100);
            assertThat(s3.trackers()).containsExactly(DirtyTracker.SOFT_DIRTY);
            assertThat(t.awaitExit(30)).as("the dump killed the target").isTrue();
            assertThat(PreDumpTest.checksumFromImages(dump, pid, buf, pages * Page.SIZE)).as("memory through the chain").isEqualTo(expected);
        }
    }

    /** A record whose start time is not the process's (a reused pid) is not trusted: every page is copied. */
    @Test
    void aProcessTheRecordDoesNotKnowIsCopiedWhole() throws Exception {
        Path pre1 = Files.createDirectory(work.resolve("pre1"));
        Path pre2 = Files.createDirectory(work.resolve("pre2"));
        try (Target t = PreDumpTest.dirtyTarget(work.resolve("t"), 16, 10)) {
            int pid = t.pid();
            Dumper.preDump(DumpOptions.of(pid, pre1), new Cancellation());
            Path record = pre1.resolve("cryo-soft-dirty.txt");
            List<String> lines = Files.readAllLines(record);
            Files.writeString(record, lines.getFirst() + "\n" + pid + " 1\n");
            DumpStats s = Dumper.preDump(DumpOptions.of(pid, pre2).withPrevImagesDir(Path.of("../pre1")), new Cancellation());
            assertThat(s.pagesInParent()).isZero();
            assertThat(s.pagesWritten()).isGreaterThanOrEqualTo(16 * 256);
        }
    }
}
