package dev.cryo.cli;

import java.io.PrintWriter;
import java.util.Locale;

import dev.cryo.dump.DumpStats;

/** {@code --display-stats}: what a dump did and how long it took, one figure a line. */
public final class StatsReport {
    private StatsReport() {}

    public static void print(DumpStats s, PrintWriter out, String indent) {
        print(s, out, indent, false);
    }

    /** The common figures, then, for a step of an iterative dump, those that say what the chain saved. */
    public static void print(DumpStats s, PrintWriter out, String indent, boolean step) {
        line(out, indent, "frozen time", millis(s.frozenNanos()));
        line(out, indent, "freezer", s.freezer().label());
        line(out, indent, "memdump time", millis(s.memdumpNanos()));
        if (s.memwriteNanos() > 0) {
            line(out, indent, "memwrite time", millis(s.memwriteNanos()));
        }
        line(out, indent, "pages scanned", Long.toString(s.pagesScanned()));
        line(out, indent, "pages written", Long.toString(s.pagesWritten()));
        line(out, indent, "total time", millis(s.totalNanos()));
        if (s.warmUpNanos() > 0) {
            line(out, indent, "warm-up time", millis(s.warmUpNanos()));
        }
        line(out, indent, "processes", Integer.toString(s.processes()));
        line(out, indent, "threads", Integer.toString(s.threads()));
        if (step) {
            line(out, indent, "pages skipped", Long.toString(s.pagesInParent()));
            line(out, indent, "pinned peak", String.format(Locale.ROOT, "%.1f MiB", s.peakPinnedBytes() / 1048576.0));
            line(out, indent, "dirty tracker", s.trackerLabel());
        }
        out.flush();
    }

    /** What a dump with --lazy-pages left out of the images, and what its daemon took. */
    public static void printLazy(DumpStats s, PrintWriter out, String indent) {
        line(out, indent, "pages lazy", Long.toString(s.pagesLazy()));
        line(out, indent, "lazy served", String.format(Locale.ROOT, "%.1f MiB", s.lazyBytesServed() / 1048576.0));
        out.flush();
    }

    private static void line(PrintWriter out, String indent, String what, String value) {
        out.printf(Locale.ROOT, "%s%-14s %12s%n", indent, what + ":", value);
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }
}
