package dev.cryo.zdtm;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * cryo's command line, run in this JVM ({@code dev.cryo.cli.Main.run}), as a user would type it. Not final, so
 * that the runner's own test can stand a cryo that refuses every command in its place.
 */
public class Cryo {
    private static final Pattern RESTORED = Pattern.compile("restored pid (\\d+)");

    /** A cryo command that failed; the message is cryo's own one line. */
    public static final class CommandFailed extends Exception {
        public CommandFailed(String message) {
            super(message);
        }
    }

    /** Runs {@code cryo ARGS...}; returns what it printed on stdout, or fails with its error line. */
    public String run(String... args) throws CommandFailed {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code;
        try (PrintWriter o = new PrintWriter(out); PrintWriter e = new PrintWriter(err)) {
            code = dev.cryo.cli.Main.run(args, o, e);
        }
        if (code != 0) {
            String said = err.toString().strip();
            throw new CommandFailed("cryo " + String.join(" ", args) + " exited with " + code + ": "
                    + (said.isEmpty() ? "(nothing on stderr)" : said.lines().findFirst().orElse("")));
        }
        return out.toString();
    }

    /** {@code cryo restore ... -d}: the restored root's pid as cryo reports it. */
    public int restoreDetached(String... args) throws CommandFailed {
        String out = run(args);
        Matcher m = RESTORED.matcher(out);
        if (!m.find()) {
            throw new CommandFailed("cryo " + String.join(" ", args) + " did not say which pid it restored: " + out.strip());
        }
        return Integer.parseInt(m.group(1));
    }
}
