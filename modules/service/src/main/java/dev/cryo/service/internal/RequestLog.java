package dev.cryo.service.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

import dev.cryo.dump.DumpListener;
import dev.cryo.dump.DumpStats;
import dev.cryo.restore.RestoreListener;
import dev.cryo.restore.RestoreStats;
import dev.cryo.service.internal.rpc.CriuOpts;
import dev.cryo.syscalls.Kernel;

/**
 * A request's own log, as the client asks for it: {@code log_file} (a name in the work directory, written
 * afresh, mode 0600), else {@code log_to_stderr} (the service's stderr), else none. {@code log_level} is
 * CRIU's scale: 1 errors, 2 the request and its outcome, 3 also the figures of {@code --display-stats}
 * (frozen time, memdump time, pages...), 4 and up every step of the dump. {@code display_stats} adds the
 * figures at any level.
 */
final class RequestLog implements DumpListener, RestoreListener, AutoCloseable {
    private static final int ERRORS = 1;
    private static final int OUTCOME = 2;
    private static final int FIGURES = 3;
    private static final int STEPS = 4;

    private final PrintWriter out;
    private final boolean closeOut;
    private final int level;
    private final boolean stats;

    private RequestLog(PrintWriter out, boolean closeOut, int level, boolean stats) {
        this.out = out;
        this.closeOut = closeOut;
        this.level = level;
        this.stats = stats;
    }

    static RequestLog none() {
        return new RequestLog(null, false, 0, false);
    }

    /** The log {@code opts} asks for; {@code workDir} is where a {@code log_file} goes. */
    static RequestLog open(CriuOpts opts, Path workDir, PrintStream serviceErr) throws RequestFailure {
        int level = opts.getLogLevel();
        boolean stats = opts.getDisplayStats() || level >= FIGURES;
        if (opts.hasLogFile()) {
            String name = opts.getLogFile();
            if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..") || name.indexOf('\0') >= 0) {
                throw new RequestFailure(Kernel.EBADRQC, "log_file is a file name in the work directory, not '" + name + "'");
            }
            Path file = workDir.resolve(name);
            try {
                OutputStream os = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
                return new RequestLog(new PrintWriter(os, true, StandardCharsets.UTF_8), true, level, stats);
            } catch (IOException e) {
                throw new RequestFailure(Kernel.EACCES, "cannot write the log " + file + ": " + e.getMessage(), e);
            }
        }
        if (opts.getLogToStderr()) {
            return new RequestLog(new PrintWriter(serviceErr, true, StandardCharsets.UTF_8), false, level, stats);
        }
        return none();
    }

    void outcome(String line) {
        write(OUTCOME, line);
    }

    void error(String line) {
        write(ERRORS, "error: " + line);
    }

    @Override
    public void log(String message) {
        write(STEPS, message);
    }

    void stats(DumpStats s) {
        if (stats && out != null) {
            figure("frozen time", millis(s.frozenNanos()));
            figure("freezer", s.freezer().label());
            figure("memdump time", millis(s.memdumpNanos()));
            if (s.memwriteNanos() > 0) {
                figure("memwrite time", millis(s.memwriteNanos()));
            }
            figure("pages scanned", Long.toString(s.pagesScanned()));
            figure("pages written", Long.toString(s.pagesWritten()));
            figure("pages skipped", Long.toString(s.pagesInParent()));
            figure("total time", millis(s.totalNanos()));
            if (s.warmUpNanos() > 0) {
                figure("warm-up time", millis(s.warmUpNanos()));
            }
            figure("processes", Integer.toString(s.processes()));
            figure("threads", Integer.toString(s.threads()));
            figure("dirty tracker", s.trackerLabel());
        }
    }

    void stats(RestoreStats s) {
        if (stats && out != null) {
            figure("restored pid", Integer.toString(s.rootPid()));
            figure("pages restored", Long.toString(s.pagesRestored()));
            figure("restore time", millis(s.restoreNanos()));
            for (RestoreStats.Step step : s.steps()) {
                figure("  " + step.name(), millis(step.nanos()));
            }
        }
    }

    // the lines of cryo's --display-stats, so that one reader reads both
    private void figure(String what, String value) {
        out.printf(Locale.ROOT, "%-14s %12s%n", what + ":", value);
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }

    private void write(int atLevel, String line) {
        if (out != null && level >= atLevel) {
            out.println("(" + LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + ") " + line);
        }
    }

    @Override
    public void close() {
        if (out != null) {
            out.flush();
            if (closeOut) {
                out.close();
            }
        }
    }
}
