/** Builds and runs the C test programs of {@code zdtm/programs} as dump and restore targets. */
module dev.cryo.testkit {
    requires dev.cryo.syscalls;
    exports dev.cryo.testkit;
}
