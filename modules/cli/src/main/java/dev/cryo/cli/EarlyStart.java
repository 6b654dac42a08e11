package dev.cryo.cli;

import java.util.Locale;

import dev.cryo.dump.DumpListener;
import dev.cryo.dump.Dumper;
import dev.cryo.dump.PreDumpMode;

/**
 * What a fresh cryo about to dump starts before its command line is parsed, so that it runs on the other core
 * beside the parsing and the step's checks: the warm-up on a decoy ({@link Dumper#warmUpEarly}), so that the tree is
 * not frozen while the JVM's code is cold and the user waits for little of it. The command
 * line is only glanced at here (the verb, {@code -R}, {@code --pre-dump-mode}, {@code --no-warm-up}); picocli
 * parses it as always, and a wrong guess only costs a warm-up of another kind.
 */
final class EarlyStart {
    private EarlyStart() {}

    static void begin(String[] args) {
        int verb = 0;
        while (verb < args.length && args[verb].startsWith("-")) {
            verb++; // cryo's own options (-v) take no value
        }
        if (verb == args.length || !(args[verb].equals("dump") || args[verb].equals("pre-dump"))) {
            return;
        }
        boolean dump = args[verb].equals("dump");
        boolean warmUp = true;
        boolean leaveRunning = false;
        PreDumpMode mode = PreDumpMode.SPLICE;
        for (int i = verb + 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                break;
            } else if (a.equals("--no-warm-up")) {
                warmUp = false;
            } else if (a.equals("--leave-running") || a.matches("-[jlxvR]*R[jlxvR]*")) {
                leaveRunning = true;
            } else if (a.startsWith("--pre-dump-mode")) {
                String m = a.contains("=") ? a.substring(a.indexOf('=') + 1) : i + 1 < args.length ? args[i + 1] : "";
                mode = m.toLowerCase(Locale.ROOT).equals("read") ? PreDumpMode.READ : PreDumpMode.SPLICE;
            }
        }
        if (warmUp) {
            Dumper.warmUpEarly(dump ? null : mode, leaveRunning, new DumpListener() {});
        }
    }
}
