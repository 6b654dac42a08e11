package dev.cryo.cli;

import java.io.PrintWriter;

import dev.cryo.cli.command.CryoCommand;
import dev.cryo.dump.DumpException;
import dev.cryo.syscalls.CryoFailure;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * Entry point of {@code cryo}. Every failure ends as one line, {@code cryo: <message>}, on stderr:
 * exit 1 when the work failed, 2 when the command line was wrong. {@code -v} adds the stack trace.
 */
public final class Main {
    private Main() {}

    /**
     * Whether this JVM ends with the command ({@link #main}), rather than running it for a caller that stays (the
     * zdtm runner, tests): a detached restore then leaves its tree on its own, as CRIU does, with no process of
     * cryo's as its parent; a caller that stays keeps the keeper as the tree's reaper.
     */
    private static volatile boolean exitsAfter;

    public static boolean exitsAfterCommand() {
        return exitsAfter;
    }

    public static void main(String[] args) {
        exitsAfter = true;
        EarlyStart.begin(args);
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = run(args, out, err);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line and returns its exit status; never exits the JVM (tests call this). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CryoCommand root = new CryoCommand();
        CommandLine line = new CommandLine(root);
        CryoCommand.addVerbs(line, args); // before the settings below, which picocli hands to the subcommands it has
        line.setOut(out)
                .setErr(err)
                .setParameterExceptionHandler(Main::usageError)
                .setExecutionExceptionHandler((e, failed, parsed) -> failure(e, failed.getErr(), root.verbose()));
        return line.execute(args);
    }

    private static int usageError(ParameterException e, String[] args) {
        CommandLine failed = e.getCommandLine();
        String message = e.getMessage();
        failed.getErr().println("cryo: " + Character.toLowerCase(message.charAt(0)) + message.substring(1)
                + " (see '" + failed.getCommandSpec().qualifiedName() + " --help')");
        return failed.getCommandSpec().exitCodeOnInvalidInput();
    }

    private static int failure(Exception e, PrintWriter err, boolean verbose) {
        if (!(e instanceof SignalGuard.Signalled)) {
            String message = message(e);
            err.println("cryo: " + (message != null ? message
                    : "internal error: " + e + (verbose ? "" : " (cryo -v shows where)")));
        }
        if (verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return CommandLine.ExitCode.SOFTWARE;
    }

    /** The user-facing message of an expected failure, or null for an exception that means a bug in cryo. */
    private static String message(Exception e) {
        return switch (e) {
            case DumpException d -> d.getMessage();
            case dev.cryo.restore.RestoreException r -> r.getMessage();
            default -> CryoFailure.reason(e);
        };
    }

}
