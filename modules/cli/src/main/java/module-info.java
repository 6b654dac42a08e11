/**
 * The {@code cryo} command: criu's verbs and option names ({@code check}, {@code dump}, {@code show}, ...)
 * over the dump and images modules. An application: it exports nothing.
 */
module dev.cryo.cli {
    requires dev.cryo.dump;
    requires dev.cryo.restore;
    requires dev.cryo.lazypages;
    requires dev.cryo.service;
    requires dev.cryo.migrate;
    requires dev.cryo.images;
    requires dev.cryo.syscalls;
    requires info.picocli;

    // picocli fills the command objects' fields by reflection.
    opens dev.cryo.cli.command to info.picocli;
}
