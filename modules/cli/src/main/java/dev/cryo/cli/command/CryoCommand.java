package dev.cryo.cli.command;

import java.lang.module.ModuleDescriptor;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** {@code cryo}: the verbs, and the options that every verb takes. */
@Command(name = "cryo",
        scope = ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = CryoCommand.Version.class,
        description = "Checkpoint and restore running Linux processes, with CRIU's commands and image format.",
        subcommands = {CheckCommand.class, DumpCommand.class, PreDumpCommand.class, RestoreCommand.class, PageServerCommand.class, LazyPagesCommand.class, ImageProxyCommand.class, ImageCacheCommand.class, MigrateCommand.class, MigrateServerCommand.class, ServiceCommand.class, SwrkCommand.class, ShowCommand.class, DemoCommand.class, HelpCommand.class})
public final class CryoCommand implements Callable<Integer> {
    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Say what is being done, and show the stack trace of a failure.")
    boolean verbose;

    @Spec
    CommandSpec spec;

    public boolean verbose() {
        return verbose;
    }

    /** With {@code -v}, each line a daemon logs, on {@code err} as {@code cryo WHO: line}; without, nothing. */
    java.util.function.Consumer<String> daemonLog(java.io.PrintWriter err, String who) {
        if (!verbose) {
            return line -> { };
        }
        return line -> {
            err.println("cryo " + who + ": " + line);
            err.flush();
        };
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "No command given");
    }

    /** The version Maven stamped into the module, or "dev" when run from classes. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            ModuleDescriptor d = CryoCommand.class.getModule().getDescriptor();
            String v = d == null ? null : d.rawVersion().orElse(null);
            return new String[] {"cryo " + (v == null ? "dev" : v)};
        }
    }
}
