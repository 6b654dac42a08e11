package dev.cryo.dump;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;

import dev.cryo.images.remote.ImageDaemon;
import dev.cryo.pagexfer.PageServerEndpoint;

/**
 * What to dump and how. Made with {@link #of} and changed one option at a time with the {@code with...}
 * methods, each a copy.
 *
 * @param pid           root of the process tree
 * @param imagesDir     directory that receives the images; must exist, be writable and hold no dump yet
 * @param leaveRunning  let the tree run on after the dump (by default it is killed once the images are complete)
 * @param shellJob      the tree is a shell job: its controlling terminal is dumped as an external tty
 * @param listener      progress and log messages
 * @param prevImagesDir the previous snapshot of an iterative dump, relative to {@code imagesDir} as CRIU's
 *                      {@code --prev-images-dir} (e.g. {@code ../pre1}), or null; the images link to it as {@code parent}
 * @param trackMem      track written pages between steps, so that a next step writes only what changed
 * @param preDumpMode   how a pre-dump copies pages (ignored by a dump, which copies while frozen)
 * @param warmUp        before freezing the tree, dump a decoy process once per JVM, so that the code a dump runs
 *                      while the tree is frozen is loaded and linked (for a short-lived JVM such as the CLI's)
 * @param fileLocks     dump the file locks the tree holds (CRIU's {@code --file-locks}); without it a held lock
 *                      refuses the dump, since the restored tree would run without it
 * @param network       what to do with connections that reach outside the tree (CRIU's --tcp-established,
 *                      --tcp-close, --ext-unix-sk, --network-lock)
 * @param pageServer    where the pages go instead of {@code imagesDir} (the other images stay there), or null;
 *                      with {@code prevImagesDir}, the previous step's pages are on that server's side
 * @param lazyPages     post-copy ({@code --lazy-pages}): the private anonymous memory is left out of the images,
 *                      and the tree stays frozen, its memory served from there to one lazy-pages daemon, until
 *                      that daemon has taken it all; then the tree is killed. Null for a plain dump
 * @param remote        the image proxy that every image goes through instead (seed 002), or null; {@code imagesDir}
 *                      then names the step's snapshot (nothing is made at that path) and {@code prevImagesDir} the
 *                      previous one among the snapshots, as among directories
 * @param handover      live migration: asked, with the tree frozen and its images complete, whether it may die
 *                      (its copy runs elsewhere) or must be released running; null for a plain dump
 * @param memdumpMode   how a dump moves the frozen tree's pages (ignored by a pre-dump): {@link MemdumpMode#AUTO} by default
 * @param mappingsAhead a dump reads each process's mappings from {@code /proc/PID/smaps} before the freeze, and once
 *                      frozen only checks them against {@code /proc/PID/maps} (read again when anything differs):
 *                      smaps walks the page tables, its time grows with the memory, and it leaves the frozen time.
 *                      A madvise() of exactly one whole mapping between the two reads goes unseen (its advice is
 *                      dumped as it was): for live migration, whose downtime it shortens; false by default
 */
public record DumpOptions(int pid, Path imagesDir, boolean leaveRunning, boolean shellJob, DumpListener listener,
                          Path prevImagesDir, boolean trackMem, PreDumpMode preDumpMode, boolean warmUp,
                          boolean fileLocks, Network network, PageServerEndpoint pageServer, LazyServing lazyPages,
                          ImageDaemon remote, Handover handover, MemdumpMode memdumpMode, boolean mappingsAhead) {
    public DumpOptions {
        Objects.requireNonNull(imagesDir, "imagesDir");
        listener = listener == null ? DumpListener.SILENT : listener;
        preDumpMode = preDumpMode == null ? PreDumpMode.SPLICE : preDumpMode;
        network = network == null ? Network.NONE : network;
        memdumpMode = memdumpMode == null ? MemdumpMode.AUTO : memdumpMode;
    }

    /**
     * Connections, as CRIU's options name them.
     *
     * @param tcpEstablished dump established TCP connections (TCP_REPAIR), to restore them connected
     * @param tcpClose       dump established TCP connections as sockets to restore closed
     * @param extUnixSk      dump unix sockets connected to a named socket outside the tree, to connect again by name
     * @param lock           lock established connections (nf_tables) while they are dumped and until they are restored;
     *                       without it (CRIU's --network-lock skip) a peer that sends meanwhile is answered with a reset
     */
    public record Network(boolean tcpEstablished, boolean tcpClose, boolean extUnixSk, boolean lock) {
        public static final Network NONE = new Network(false, false, false, true);
    }

    public DumpOptions(int pid, Path imagesDir, boolean leaveRunning, boolean shellJob, DumpListener listener) {
        this(pid, imagesDir, leaveRunning, shellJob, listener, null, false, PreDumpMode.SPLICE, false, false, Network.NONE, null, null, null, null, null, false);
    }

    public static DumpOptions of(int pid, Path imagesDir) {
        return new DumpOptions(pid, imagesDir, false, false, DumpListener.SILENT);
    }

    /** The options' fields, to change one in a copy. */
    private static final class Change {
        boolean leaveRunning;
        boolean shellJob;
        DumpListener listener;
        Path prevImagesDir;
        boolean trackMem;
        PreDumpMode preDumpMode;
        boolean warmUp;
        boolean fileLocks;
        Network network;
        PageServerEndpoint pageServer;
        LazyServing lazyPages;
        ImageDaemon remote;
        Handover handover;
        MemdumpMode memdumpMode;
        boolean mappingsAhead;
    }

    private DumpOptions with(Consumer<Change> change) {
        Change c = new Change();
        c.leaveRunning = leaveRunning;
        c.shellJob = shellJob;
        c.listener = listener;
        c.prevImagesDir = prevImagesDir;
        c.trackMem = trackMem;
        c.preDumpMode = preDumpMode;
        c.warmUp = warmUp;
        c.fileLocks = fileLocks;
        c.network = network;
        c.pageServer = pageServer;
        c.lazyPages = lazyPages;
        c.remote = remote;
        c.handover = handover;
        c.memdumpMode = memdumpMode;
        c.mappingsAhead = mappingsAhead;
        change.accept(c);
        return new DumpOptions(pid, imagesDir, c.leaveRunning, c.shellJob, c.listener, c.prevImagesDir, c.trackMem,
                c.preDumpMode, c.warmUp, c.fileLocks, c.network, c.pageServer, c.lazyPages, c.remote, c.handover, c.memdumpMode, c.mappingsAhead);
    }

    public DumpOptions withLeaveRunning(boolean v) {
        return with(c -> c.leaveRunning = v);
    }

    public DumpOptions withShellJob(boolean v) {
        return with(c -> c.shellJob = v);
    }

    public DumpOptions withListener(DumpListener l) {
        return with(c -> c.listener = l);
    }

    public DumpOptions withPrevImagesDir(Path p) {
        return with(c -> c.prevImagesDir = p);
    }

    public DumpOptions withTrackMem(boolean v) {
        return with(c -> c.trackMem = v);
    }

    public DumpOptions withPreDumpMode(PreDumpMode m) {
        return with(c -> c.preDumpMode = m);
    }

    public DumpOptions withMemdumpMode(MemdumpMode m) {
        return with(c -> c.memdumpMode = m);
    }

    /** The mappings read before the freeze and checked once frozen (see {@code mappingsAhead}). */
    public DumpOptions withMappingsAhead(boolean v) {
        return with(c -> c.mappingsAhead = v);
    }

    public DumpOptions withWarmUp(boolean v) {
        return with(c -> c.warmUp = v);
    }

    public DumpOptions withFileLocks(boolean v) {
        return with(c -> c.fileLocks = v);
    }

    public DumpOptions withNetwork(Network n) {
        return with(c -> c.network = n);
    }

    public DumpOptions withTcpEstablished(boolean v) {
        return withNetwork(new Network(v, network.tcpClose(), network.extUnixSk(), network.lock()));
    }

    public DumpOptions withTcpClose(boolean v) {
        return withNetwork(new Network(network.tcpEstablished(), v, network.extUnixSk(), network.lock()));
    }

    public DumpOptions withExtUnixSk(boolean v) {
        return withNetwork(new Network(network.tcpEstablished(), network.tcpClose(), v, network.lock()));
    }

    public DumpOptions withLazyPages(LazyServing l) {
        return with(c -> c.lazyPages = l);
    }

    public DumpOptions withPageServer(PageServerEndpoint e) {
        return with(c -> c.pageServer = e);
    }

    /** Every image through the image proxy {@code d} (null: into {@code imagesDir}). */
    public DumpOptions withRemote(ImageDaemon d) {
        return with(c -> c.remote = d);
    }

    /** Live migration: the tree dies only once {@code h} says its copy runs elsewhere (null: at the end of the dump). */
    public DumpOptions withHandover(Handover h) {
        return with(c -> c.handover = h);
    }
}
