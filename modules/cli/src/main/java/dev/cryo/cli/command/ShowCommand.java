package dev.cryo.cli.command;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.cryo.cli.Failure;
import dev.cryo.images.ImageJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cryo show FILE}: one image decoded to JSON, shaped like {@code crit decode}'s output. */
@Command(name = "show", description = "Decode one image file to JSON on stdout.")
final class ShowCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "An image file, e.g. DIR/pstree.img.")
    Path file;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().println(json(file));
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** The image as JSON; the demo shows images through this too. */
    static String json(Path file) {
        if (!Files.exists(file)) {
            throw new Failure(file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new Failure(file + ": not an image file");
        }
        return ImageJson.decode(file);
    }
}
