/** Builds and runs the C test programs of {@code zdtm/programs} as dump and restore targets. */
module dev.cryo.testkit {
    exports dev.cryo.testkit;
}
