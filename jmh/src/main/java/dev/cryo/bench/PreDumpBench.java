package dev.cryo.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.PreDumpMode;
import dev.cryo.parasite.Cancellation;
import dev.cryo.testkit.Target;

/**
 * One step of an iterative pre-dump of a real process (zdtm/programs/pd_dirty.c: SIZE MiB of memory, of which
 * it writes DIRTY per mille between steps), in splice and read mode. Each measured invocation is a pre-dump
 * whose parent is the previous step, so it writes the pages written since; the primary figure is its wall
 * time, and {@link Step} reports frozen time, pages written and peak pinned pipe memory beside it.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, batchSize = 1)
@Measurement(iterations = 4, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-Xmx1g"})
@State(Scope.Benchmark)
public class PreDumpBench {
    @Param({"splice", "read"})
    public String mode;

    @Param({"64", "1024"})
    public int sizeMiB;

    /** Pages written between steps, per mille: 10 = 1%, 100 = 10%, 1000 = all. */
    @Param({"10", "100", "1000"})
    public int dirtyPermille;

    private Target target;
    private Path work;
    private Path previous;
    private Path older;
    private int step;

    /** Secondary figures of the step, as JMH aux counters (one step per iteration: single-shot, batch of 1). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Step {
        /** Time the tree was stopped, µs. */
        public long frozenMicros;
        /** Pages the step wrote to its pages image. */
        public long pagesWritten;
        /** Pages left in the parent snapshot. */
        public long pagesInParent;
        /** Peak page bytes held in pipes (splice mode), KiB. */
        public long pinnedKiB;

        @Setup(Level.Iteration)
        public void reset() {
            frozenMicros = 0;
            pagesWritten = 0;
            pagesInParent = 0;
            pinnedKiB = 0;
        }

        void add(DumpStats s) {
            frozenMicros += s.frozenNanos() / 1000;
            pagesWritten += s.pagesWritten();
            pagesInParent += s.pagesInParent();
            pinnedKiB += s.peakPinnedBytes() / 1024;
        }
    }

    @Setup(Level.Trial)
    public void start() throws Exception {
        Path base = Path.of(System.getProperty("cryo.bench.dir", "/dev/shm/cryo-bench-predump"));
        work = Files.createDirectories(base).resolve(mode + "-" + sizeMiB + "-" + dirtyPermille);
        delete(work);
        Files.createDirectories(work);
        target = Target.start("pd_dirty", work.resolve("target"), Integer.toString(sizeMiB), Integer.toString(dirtyPermille));
        // The first step copies everything; the measured ones are the iterations after it.
        previous = preDump(new Step());
    }

    @Setup(Level.Invocation)
    public void dirty() throws Exception {
        PdDirty.dirty(target, step);
        if (older != null) {
            delete(older); // only the parent is read by the next step
            older = null;
        }
    }

    @Benchmark
    public void preDumpStep(Step stats) throws Exception {
        Path made = preDump(stats);
        older = previous;
        previous = made;
    }

    private Path preDump(Step stats) throws Exception {
        Path dir = Files.createDirectory(work.resolve("step" + step++));
        DumpOptions o = DumpOptions.of(target.pid(), dir).withPreDumpMode(PreDumpMode.valueOf(mode.toUpperCase(java.util.Locale.ROOT)));
        if (previous != null) {
            o = o.withPrevImagesDir(Path.of("..", previous.getFileName().toString()));
        }
        stats.add(Dumper.preDump(o, new Cancellation()));
        return dir;
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
        if (target != null) {
            target.close();
        }
        delete(work);
    }

    static void delete(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}
