package dev.cryo.dump;

/**
 * How a pre-dump copies pages, as CRIU's {@code --pre-dump-mode}. The numbers are inventory.img's
 * {@code pre_dump_mode} values.
 */
public enum PreDumpMode {
    /** The task vmsplices its pages into pipes while frozen; they are drained after it runs on. */
    SPLICE(1),
    /** The task is frozen only while its mappings are collected; pages are copied through /proc/PID/mem while it runs. */
    READ(2);

    private final int inventoryValue;

    PreDumpMode(int inventoryValue) {
        this.inventoryValue = inventoryValue;
    }

    public int inventoryValue() {
        return inventoryValue;
    }
}
