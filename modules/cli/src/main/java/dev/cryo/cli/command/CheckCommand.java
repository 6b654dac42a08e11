package dev.cryo.cli.command;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

import dev.cryo.cli.Failure;
import dev.cryo.cli.KernelReport;
import dev.cryo.cli.KernelReport.Line;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code cryo check}: which kernel features cryo uses are here; fails if a required one is missing. */
@Command(name = "check", description = "Check that the kernel has what cryo needs (each feature, present or not).")
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<Line> features = KernelReport.lines();
        int width = features.stream().mapToInt(f -> f.name().length()).max().orElse(0);
        for (Line f : features) {
            String state = f.present() ? "yes" : f.required() ? "MISSING" : "no";
            out.printf("%-" + width + "s  %-7s  %s%n", f.name(), state, f.detail());
        }
        List<String> missing = features.stream().filter(f -> f.required() && !f.present()).map(Line::name).toList();
        if (!missing.isEmpty()) {
            out.flush();
            throw new Failure("the kernel lacks what cryo needs: " + String.join(", ", missing));
        }
        out.println("Looks good.");
        out.flush();
        return 0;
    }
}
