package dev.cryo.zdtm;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How a test is put through cryo. Each cycle drives cryo as a user does, through its command line. A cycle
 * always runs: what cryo cannot do shows as failures, and only a test's own declared skip
 * ({@link ZdtmTest#skipReason}) leaves it out.
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
 * <li>{@code lazy}: as {@code host}, restored with {@code --lazy-pages} and a {@code cryo lazy-pages} daemon serving the
 * dump's images; the daemon answers faults alone for a while after the tree runs, so that the program's memory comes by
 * fault, and must end well once the program has ended</li>
 * <li>{@code remote-lazy}: post-copy across two network namespaces joined by a veth pair: {@code cryo dump --lazy-pages}
 * serving from one, the images copied, {@code cryo lazy-pages --page-server} and {@code cryo restore --lazy-pages --pidns}
 * in the other (the original, frozen by its dump, holds its pids meanwhile); the dump must end well, killing the
 * original, once the daemon has taken its memory</li>
 * <li>{@code remote}: as {@code predump}, with every image of every step written ({@code --remote}) through a
 * {@code cryo image-proxy} in one network namespace to a {@code cryo image-cache} in another (two namespaces
 * joined by a veth pair, made for the test); then {@code cryo restore -d --remote} from the cache, and both
 * daemons must have ended well: the proxy after the dump, the cache after the restore</li>
 * <li>{@code migrate}: live migration between two network namespaces joined by a veth pair: {@code cryo migrate}
 * (pre-copy auto) in one to a {@code cryo migrate-server --pidns} in the other, which restores the tree into the
 * runner's own network namespace (the tree's, which both reach, as a container's: {@code --join-ns}); the original
 * must be gone, and the server must have ended well, saying which pid it restored</li>
 * <li>{@code migrate-lazy}: as {@code migrate} with {@code --post-copy}: the final dump leaves the memory in the frozen
 * original, which the destination's lazy restore fetches on fault and in the background</li>
 * </ul>
 */
public enum Cycle {
    NONE("none"),
    HOST("host"),
    PIDNS("pidns"),
    PREDUMP("predump"),
    CGROUP("cgroup"),
    PAGESERVER("pageserver"),
    LAZY("lazy"),
    REMOTE_LAZY("remote-lazy"),
    REMOTE("remote"),
    MIGRATE("migrate"),
    MIGRATE_LAZY("migrate-lazy");

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
}
