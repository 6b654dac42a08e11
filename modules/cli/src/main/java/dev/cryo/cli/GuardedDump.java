package dev.cryo.cli;

import java.io.PrintWriter;

import dev.cryo.dump.DumpException;
import dev.cryo.dump.DumpOptions;
import dev.cryo.dump.DumpStats;
import dev.cryo.dump.Dumper;

/** A dump that a signal to cryo cancels and unwinds instead of cutting short (see {@link SignalGuard}). */
public final class GuardedDump {
    private GuardedDump() {}

    public static DumpStats run(DumpOptions options, PrintWriter err) throws DumpException {
        return SignalGuard.run(err, "the dump of pid " + options.pid(), cancel -> Dumper.dump(options, cancel));
    }
}
