package dev.cryo.zdtm;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.cryo.testkit.Programs;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code scripts/zdtm [--cycle host,pidns,predump,cgroup,pageserver,lazy,remote-lazy,remote] [TEST...]}: runs the zdtm suite (or the named tests) through the
 * chosen cycles, one line per test and cycle, and ends with {@code N passed, M failed, K skipped}, the reason of
 * each skip (only those the tests declare) and of each failure. Exits 1 when a test failed.
 */
@Command(name = "zdtm", mixinStandardHelpOptions = true,
        description = "Checkpoint and restore each zdtm test program and check that its state survives.")
public final class Zdtm implements Callable<Integer> {
    @Option(names = "--cycle", split = ",", paramLabel = "CYCLE", defaultValue = "host,pidns,predump,cgroup,pageserver,lazy,remote-lazy,remote,migrate,migrate-lazy",
            description = "Cycles to run: none (no checkpoint: checks the programs), host, pidns, predump, cgroup, pageserver, lazy,"
                    + " remote-lazy, remote."
                    + " Default: ${DEFAULT-VALUE}.")
    List<String> cycles;

    @Option(names = "--list", description = "List the tests and their declared skips, and run nothing.")
    boolean list;

    @Parameters(paramLabel = "TEST", arity = "0..*",
            description = "Tests to run (names of zdtm/programs/*.c), despite the skips they declare; all by default.")
    List<String> names = new ArrayList<>();

    private final PrintWriter out;

    Zdtm(PrintWriter out) {
        this.out = out;
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        int code = commandLine(out).execute(args);
        out.flush();
        System.exit(code);
    }

    /** The command, with a bad test or cycle name (the user's mistake) reported in one line and exit code 2. */
    static CommandLine commandLine(PrintWriter out) {
        return new CommandLine(new Zdtm(out))
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    if (!(e instanceof IllegalArgumentException)) {
                        throw e;
                    }
                    cmd.getErr().println("zdtm: " + e.getMessage());
                    return 2;
                });
    }

    @Override
    public Integer call() {
        Path programs = Programs.repoRoot().resolve("zdtm/programs");
        List<ZdtmTest> tests = names.isEmpty() ? ZdtmTest.suite(programs)
                : names.stream().map(n -> ZdtmTest.named(programs, n)).toList();
        List<Cycle> chosen = cycles.stream().map(Cycle::byId).toList();
        if (list) {
            for (ZdtmTest t : tests) {
                Map<String, List<String>> byReason = new LinkedHashMap<>();
                t.skips().forEach((cycle, why) -> byReason.computeIfAbsent(why, w -> new ArrayList<>()).add(cycle));
                StringBuilder line = new StringBuilder(t.name());
                byReason.forEach((why, cs) -> line.append("  (skips ").append(String.join(",", cs.stream().sorted().toList()))
                        .append(": ").append(why).append(')'));
                out.println(line);
            }
            return 0;
        }
        // A test named on the command line runs despite its declared skips: that is how one sees a feature land.
        List<ZdtmTest> torun = names.isEmpty() ? tests : despiteSkips(tests, chosen, out);
        List<Outcome> outcomes = run(torun, chosen, Programs.repoRoot().resolve("target/zdtm-run"), new Cryo(), out);
        return summary(outcomes, out) ? 0 : 1;
    }

    /** The tests without their declared skips, saying which skip of the chosen cycles each one runs despite. */
    static List<ZdtmTest> despiteSkips(List<ZdtmTest> tests, List<Cycle> cycles, PrintWriter out) {
        for (ZdtmTest t : tests) {
            t.skips().forEach((cycle, why) -> {
                if (cycles.contains(Cycle.byId(cycle))) {
                    out.println("zdtm: " + t.name() + " runs in " + cycle + " despite its declared skip: " + why);
                }
            });
        }
        return tests.stream().map(ZdtmTest::withoutSkips).toList();
    }

    /**
     * Runs every test in every cycle, printing each outcome as it comes. A cycle always runs, whatever cryo's
     * help or a first run says of it: a feature cryo lacks or lost is a failure, never a skip. Only a skip that a
     * test declares in its header leaves it out, with the reason it gives.
     */
    static List<Outcome> run(List<ZdtmTest> tests, List<Cycle> cycles, Path work, Cryo cryo, PrintWriter out) {
        List<Outcome> outcomes = new ArrayList<>();
        for (Cycle c : cycles) {
            for (ZdtmTest t : tests) {
                String skip = t.skipReason(c);
                Outcome o = skip != null ? new Outcome(t.name(), c, Outcome.Verdict.SKIPPED, skip, 0)
                        : new TestRun(t, c, work, cryo).run();
                if (o.pidTaken()) {
                    // Not cryo's fault: between the dump and the restore another process on this machine (pids
                    // wrap quickly when the machine is busy) took a pid the tree needs. Once more, with a new tree.
                    out.println("again   " + c.id() + " " + t.name() + ": " + o.reason());
                    o = new TestRun(t, c, work, cryo).run();
                }
                outcomes.add(o);
                out.println(o.line());
                out.flush();
            }
        }
        return outcomes;
    }

    /** Prints the totals line and the failures; returns whether nothing failed. */
    static boolean summary(List<Outcome> outcomes, PrintWriter out) {
        long passed = count(outcomes, Outcome.Verdict.PASSED), failed = count(outcomes, Outcome.Verdict.FAILED),
                skipped = count(outcomes, Outcome.Verdict.SKIPPED);
        double seconds = outcomes.stream().mapToLong(Outcome::nanos).sum() / 1e9;
        if (skipped > 0) {
            out.println();
            out.println("skipped, as the tests declare:");
            outcomes.stream().filter(o -> o.verdict() == Outcome.Verdict.SKIPPED)
                    .forEach(o -> out.println("  " + o.test() + " (" + o.cycle().id() + "): " + o.reason()));
        }
        if (failed > 0) {
            out.println();
            out.println("failures:");
            outcomes.stream().filter(o -> o.verdict() == Outcome.Verdict.FAILED)
                    .forEach(o -> out.println("  " + o.test() + " (" + o.cycle().id() + "): " + o.reason()));
        }
        out.printf(Locale.ROOT, "zdtm: %.1f s of tests%n", seconds);
        out.printf(Locale.ROOT, "%d passed, %d failed, %d skipped%n", passed, failed, skipped);
        out.flush();
        return failed == 0;
    }

    private static long count(List<Outcome> outcomes, Outcome.Verdict v) {
        return outcomes.stream().filter(o -> o.verdict() == v).count();
    }
}
