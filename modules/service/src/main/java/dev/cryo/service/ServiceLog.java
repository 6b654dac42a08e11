package dev.cryo.service;

import java.io.PrintWriter;

/**
 * Hears what the service does, one line at a time (a connection, a request and its outcome), from the
 * thread that serves it: for {@code cryo service -v}. A client's own log (its {@code log_file}) is apart.
 */
@FunctionalInterface
public interface ServiceLog {
    ServiceLog SILENT = line -> {};

    /** Each line to {@code out} after {@code prefix} ({@code "cryo service: "}), flushed at once. */
    static ServiceLog to(PrintWriter out, String prefix) {
        return line -> {
            out.println(prefix + line);
            out.flush();
        };
    }

    void log(String line);
}
