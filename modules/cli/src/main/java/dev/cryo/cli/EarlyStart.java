package dev.cryo.cli;

import java.util.Locale;
import java.util.Optional;

import dev.cryo.dump.DumpListener;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.PreDumpMode;

/**
 * What a fresh cryo about to dump starts before its command line is parsed: the warm-up on a decoy
 * ({@link Dumper#warmUpEarly}), on a thread of its own, so that it runs on the other core beside the parsing and
 * the step's checks, the tree is not frozen while the JVM's code is cold, and the user waits for little of it.
 * The command line is only glanced at here (the verb, {@code -R}, {@code --pre-dump-mode}, {@code --no-warm-up});
 * picocli parses it as always, and a wrong guess only costs a warm-up of the step's own kind, run by the step.
 */
final class EarlyStart {
    private EarlyStart() {}

    /** The warm-up a command line asks for: a dump's ({@code preDump} null) or a pre-dump's in that mode. */
    record WarmUp(PreDumpMode preDump, boolean leaveRunning) {}

    static void begin(String[] args) {
        guess(args).ifPresent(w -> Dumper.warmUpEarly(w.preDump(), w.leaveRunning(), new DumpListener() {}));
    }

    /** The warm-up of the dump or pre-dump that {@code args} asks for, if any: none for another command or with --no-warm-up. */
    static Optional<WarmUp> guess(String[] args) {
        int verb = 0;
        while (verb < args.length && args[verb].startsWith("-")) {
            verb++; // cryo's own options (-v) take no value
        }
        if (verb == args.length || !(args[verb].equals("dump") || args[verb].equals("pre-dump"))) {
            return Optional.empty();
        }
        boolean leaveRunning = false;
        PreDumpMode mode = PreDumpMode.SPLICE; // pre-dump's default
        for (int i = verb + 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--no-warm-up") || a.equals("--help") || a.equals("-h")) {
                return Optional.empty();
            } else if (a.equals("--leave-running") || a.matches("-[jlxvR]*R[jlxvR]*")) {
                leaveRunning = true;
            } else if (a.equals("--pre-dump-mode") && i + 1 < args.length) {
                mode = mode(args[++i]);
            } else if (a.startsWith("--pre-dump-mode=")) {
                mode = mode(a.substring(a.indexOf('=') + 1));
            }
        }
        return Optional.of(args[verb].equals("dump") ? new WarmUp(null, leaveRunning) : new WarmUp(mode, false));
    }

    private static PreDumpMode mode(String m) {
        return m.toLowerCase(Locale.ROOT).equals("read") ? PreDumpMode.READ : PreDumpMode.SPLICE;
    }
}
