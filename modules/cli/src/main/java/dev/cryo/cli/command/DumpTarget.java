package dev.cryo.cli.command;

import java.nio.file.Path;

import picocli.CommandLine.Option;

/** The options {@code cryo dump} and {@code cryo pre-dump} share: which tree, where, on top of what, and the report. */
final class DumpTarget {
    @Option(names = {"-t", "--tree"}, paramLabel = "PID", required = true, description = "Root of the tree.")
    int pid;

    @Option(names = {"-D", "--images-dir"}, paramLabel = "DIR", required = true,
            description = "Existing, empty directory that receives the images.")
    Path imagesDir;

    @Option(names = "--prev-images-dir", paramLabel = "REL",
            description = "The last pre-dump, relative to DIR (e.g. ../pre1): pages unchanged since are left there.")
    Path prevImagesDir;

    @Option(names = "--display-stats",
            description = "Print frozen time, freezer, memdump time, page counts and total time"
                    + " (with a previous step: pages left there, pinned pipe memory and dirty tracker).")
    boolean displayStats;

    @Option(names = "--no-warm-up",
            description = "Skip the rehearsal: before freezing the tree, cryo dumps a decoy it starts (sh and two sleeps), so that the"
                    + " code the dump runs while the tree is frozen is not run cold (it keeps the frozen time of a"
                    + " fresh cryo's first dump short). The command line starts it first thing, on a thread of its own, so that it"
                    + " runs beside the parsing and checks that come before the freeze.")
    boolean noWarmUp;
}
