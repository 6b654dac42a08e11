package dev.cryo.zdtm;

/** How one test went in one cycle: passed, failed (with the reason) or skipped (with the missing feature). */
public record Outcome(String test, Cycle cycle, Verdict verdict, String reason, long nanos) {
    public enum Verdict { PASSED, FAILED, SKIPPED }

    /**
     * Whether the test failed only because its restore found a pid it needs held by another process, which a
     * host restore (same pids, outside a pid namespace of its own) cannot help on a machine that runs other work.
     */
    public boolean pidTaken() {
        return verdict == Verdict.FAILED && reason.contains("is taken by another process; the restored tree needs it");
    }

    public String line() {
        String head = String.format(java.util.Locale.ROOT, "%-7s %-6s %-20s", verdict.name().toLowerCase(java.util.Locale.ROOT),
                cycle.id(), test);
        return switch (verdict) {
            case PASSED -> head + String.format(java.util.Locale.ROOT, " %6.2f s", nanos / 1e9);
            case FAILED -> head + String.format(java.util.Locale.ROOT, " %6.2f s  %s", nanos / 1e9, reason);
            case SKIPPED -> head + "           " + reason;
        };
    }
}
