package dev.cryo.service;

/**
 * Hears what the service does, one line at a time (a connection, a request and its outcome), from the
 * thread that serves it: for {@code cryo service -v}. A client's own log (its {@code log_file}) is apart.
 */
@FunctionalInterface
public interface ServiceLog {
    ServiceLog SILENT = line -> {};

    void log(String line);
}
