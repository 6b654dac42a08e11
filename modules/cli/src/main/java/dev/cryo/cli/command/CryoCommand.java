package dev.cryo.cli.command;

import java.lang.module.ModuleDescriptor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** {@code cryo}: the verbs ({@link #addVerbs}), and the options that every verb takes. */
@Command(name = "cryo",
        scope = ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = CryoCommand.Version.class,
        description = "Checkpoint and restore running Linux processes, with CRIU's commands and image format.")
public final class CryoCommand implements Callable<Integer> {
    /** Every verb, by the name its {@code @Command} gives it, in the order {@code cryo --help} lists them. */
    private static final Map<String, Supplier<Object>> VERBS = new LinkedHashMap<>();

    static {
        VERBS.put("check", CheckCommand::new);
        VERBS.put("dump", DumpCommand::new);
        VERBS.put("pre-dump", PreDumpCommand::new);
        VERBS.put("restore", RestoreCommand::new);
        VERBS.put("page-server", PageServerCommand::new);
        VERBS.put("lazy-pages", LazyPagesCommand::new);
        VERBS.put("image-proxy", ImageProxyCommand::new);
        VERBS.put("image-cache", ImageCacheCommand::new);
        VERBS.put("migrate", MigrateCommand::new);
        VERBS.put("migrate-server", MigrateServerCommand::new);
        VERBS.put("service", ServiceCommand::new);
        VERBS.put("swrk", SwrkCommand::new);
        VERBS.put("show", ShowCommand::new);
        VERBS.put("demo", DemoCommand::new);
        VERBS.put("help", HelpCommand::new);
    }

    /**
     * Gives {@code line} (this command's) the verb that {@code args} names, alone; or every verb when {@code args}
     * names none that cryo has ({@code --help}, {@code help VERB}, no verb, a misspelt one: the root's usage lists
     * them all, and a wrong one is told the nearest). picocli reads the annotations of every command it is given,
     * with reflection and an annotation proxy per use, in code that is still cold at start: the verbs a command
     * line does not run were a third of the start-up of {@code cryo check} (docs/benchmarks.md, "Start-up").
     */
    public static void addVerbs(CommandLine line, String[] args) {
        int verb = 0;
        while (verb < args.length && args[verb].startsWith("-")) {
            verb++; // cryo's own options (-v, -h, -V) take no value
        }
        Supplier<Object> only = verb < args.length && !args[verb].equals("help") ? VERBS.get(args[verb]) : null;
        if (only != null) {
            line.addSubcommand(args[verb], only.get());
        } else {
            VERBS.forEach((name, command) -> line.addSubcommand(name, command.get()));
        }
    }

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
