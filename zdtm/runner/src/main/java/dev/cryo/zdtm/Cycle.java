package dev.cryo.zdtm;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import dev.cryo.syscalls.Cgroup2;

/**
 * How a test is put through cryo. Each cycle drives cryo as a user does, through its command line.
 *
 * <ul>
 * <li>{@code none}: no checkpoint at all; proves the program passes on its own (a test that fails here is broken)</li>
 * <li>{@code host}: {@code cryo dump} (the tree is killed), then {@code cryo restore -d} with the same pids</li>
 * <li>{@code pidns}: {@code cryo dump --leave-running}, then {@code cryo restore --pidns -d} beside the original,
 * which is killed once the restored tree has been compared with it</li>
 * <li>{@code predump}: {@code cryo pre-dump} twice (the second on top of the first), then
 * {@code cryo dump --prev-images-dir ../pre2 --track-mem}, then {@code cryo restore -d}</li>
 * <li>{@code cgroup}: the tree moved into a cgroup2 cgroup of its own, then as {@code host}; the dump's
 * {@code --display-stats} must say that the cgroup's freezer stopped it</li>
 * <li>{@code pageserver}: as {@code predump}, with every step's pages sent ({@code --page-server}) to a
 * {@code cryo page-server} process in another network namespace (two namespaces joined by a veth pair, made
 * for the test), each server linked to the step before on its side; then {@code cryo restore -d} from the last
 * server's directory with the dump's other images put beside its pages</li>
 * </ul>
 */
public enum Cycle {
    NONE("none"),
    HOST("host"),
    PIDNS("pidns"),
    PREDUMP("predump"),
    CGROUP("cgroup"),
    PAGESERVER("pageserver");

    private final String id;

    Cycle(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Cycle byId(String id) {
        for (Cycle c : values()) {
            if (c.id.equals(id)) {
                return c;
            }
        }
        throw new IllegalArgumentException("no cycle '" + id + "'; cycles are "
                + Arrays.stream(values()).map(Cycle::id).collect(Collectors.joining(", ")));
    }

    /** The probe program: the smallest test there is, whose state any restore must keep. */
    static final String PROBE = "cwd";

    /**
     * The feature this cycle needs that cryo does not have yet, or null. Asked of cryo itself, so that the cycle
     * runs as soon as the feature lands: its help text says whether it has the options, and for the cycles whose
     * images need more of restore than the host cycle (predump: pages in a parent pre-dump), one run of the
     * {@link #PROBE} program says whether restore refuses them as not built yet.
     */
    public String missingFeature(Cryo cryo, Path programs, Path work) {
        String option = missingOption(cryo);
        if (option != null || this != PREDUMP) {
            return option;
        }
        Outcome probe = new TestRun(ZdtmTest.named(programs, PROBE), this, work.resolve("probe"), cryo).run();
        Matcher refusal = NOT_BUILT.matcher(probe.reason());
        if (probe.verdict() != Outcome.Verdict.FAILED || !refusal.find()) {
            return null;
        }
        // the refusal's last part names the feature: "..., which restore does not handle yet"
        String[] parts = refusal.group(1).split(": ");
        String why = java.util.Arrays.stream(parts).filter(p -> p.matches(".*\\byet\\b.*")).reduce((a, b) -> b).orElse(refusal.group(1));
        return "cryo restore refuses its images: " + why.replaceAll("0x[0-9a-f]+", "ADDR");
    }

    /** How cryo restore says that it lacks a feature: "cryo restore ... exited with 1: cryo: ... not handle yet". */
    private static final Pattern NOT_BUILT = Pattern.compile("^cryo restore .* exited with \\d+: cryo: (.*\\byet\\b.*)$");

    private String missingOption(Cryo cryo) {
        return switch (this) {
            case NONE, HOST -> null;
            case CGROUP -> Cgroup2.mountPoint().isEmpty() ? "no cgroup2 hierarchy is mounted"
                    : cryo.help("dump").contains("--display-stats") ? null : "cryo dump has no --display-stats yet";
            case PIDNS -> cryo.help("restore").contains("--pidns") ? null : "cryo restore has no --pidns option yet";
            case PREDUMP -> cryo.help("pre-dump").contains("--prev-images-dir") && cryo.help("dump").contains("--track-mem")
                    ? null : "cryo has no pre-dump with --prev-images-dir and dump --track-mem yet";
            case PAGESERVER -> !cryo.help("page-server").contains("--prev-images-dir") || !cryo.help("pre-dump").contains("--page-server")
                    ? "cryo has no page-server with --prev-images-dir and pre-dump --page-server yet"
                    : java.util.stream.Stream.of("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip").noneMatch(p -> java.nio.file.Files.isExecutable(Path.of(p)))
                    ? "no ip(8) to make the network namespaces (Debian: apt-get install iproute2)" : null;
        };
    }
}
